import Foundation

/// libFuzzer entry point: any bytes (plain or gzip) parse to an IDX array or throw;
/// never a trap, and never an allocation the input's size cannot justify.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? IDX.parse(Data(bytes: start, count: count), source: "fuzz")
    return 0
}
