import Foundation
import Formats

/// libFuzzer entry point: any bytes are either a valid safetensors file whose every
/// tensor reads back, or a thrown error; never a trap or an out-of-bounds read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    // Odd-length inputs arrive as a slice (startIndex 1), the way a caller's sub-range would.
    let bytes = count % 2 == 1 ? (Data([0]) + Data(bytes: start, count: count)).dropFirst() : Data(bytes: start, count: count)
    guard let file = try? SafeTensors(data: bytes, source: "fuzz") else { return 0 }
    for name in file.names {
        _ = try? file.shape(of: name)
        _ = try? file.floats(name)
        _ = try? file.int64s(name)
    }
    return 0
}
