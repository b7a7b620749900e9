import Autodiff
import Formats
import Foundation

/// A short digest of parameter lists: which weights a cached result (an oracle's, an
/// expert trajectory's) belongs to, so a cache is keyed by the weights it started from.
public func parameterFingerprint(_ lists: [[Tensor]]) -> String {
    var bytes = Data()
    for list in lists {
        for tensor in list { tensor.buffer.withMemoryRebound(to: UInt8.self) { bytes.append(contentsOf: $0) } }
    }
    return String(SHA256.hex(bytes).prefix(24))
}
