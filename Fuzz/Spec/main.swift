import Distillation
import Victims

/// libFuzzer entry point: any bytes, read as the text of an attack spec and of a zoo spec,
/// give a spec that passed validation or a thrown error; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    _ = try? AttackSpec.parse(yaml: text, file: "fuzz.yaml")
    _ = try? ZooSpec.parse(yaml: text, file: "fuzz.yaml")
    return 0
}
