import Foundation
import Formats

/// libFuzzer entry point: any bytes decode to an image or throw; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? PNGImage(data: Data(bytes: start, count: count), source: "fuzz")
    return 0
}
