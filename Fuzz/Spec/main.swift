import Distillation
import Specs
import Victims

/// libFuzzer entry point: any bytes, read as the text of an attack spec and of a zoo spec,
/// give a spec that passed validation or a thrown error; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    // Parsed once (as every spec is), then read as both kinds of spec.
    guard let document = try? SpecDocument(yaml: text, file: "fuzz.yaml") else { return 0 }
    _ = try? AttackSpec.parse(document)
    _ = try? ZooSpec.parse(document)
    return 0
}
