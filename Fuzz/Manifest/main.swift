import Foundation
import Victims

/// libFuzzer entry point: any bytes are a zoo manifest that passed every check (names
/// inside the zoo's folder, roles, no held-out victim that is a crafting one) or a thrown
/// error; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? ZooManifest.parse(Data(bytes: start, count: count), source: "fuzz/manifest.json")
    return 0
}
