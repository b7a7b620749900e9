import Autodiff
import Foundation
import ONNX

/// libFuzzer entry point: any bytes are an ONNX classifier that passed every check (ops,
/// opset, shapes resolved by a dry run) or a thrown error; never a trap. A model that
/// passes, with small inputs, also runs a forward pass on a batch of two, which its dry
/// run promised would work.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOnnx(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let model = try? OnnxModel(data: Data(bytes: start, count: count), source: "fuzz.onnx") else { return 0 }
    let pixels = model.inputShape.reduce(1, *)
    if pixels <= 1 << 12 {
        _ = OnnxClassifier(model: model).logits(Tensor(shape: [2] + model.inputShape, scalars: [Float](repeating: 0.5, count: 2 * pixels)),
                                                model.fileParameters)
    }
    return 0
}
