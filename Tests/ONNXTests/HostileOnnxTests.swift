import Autodiff
import Foundation
import ONNX
import Testing

/// Files no exporter writes, each refused with an `OnnxError` rather than a crash or an
/// unbounded allocation.
@Suite("Hostile ONNX files are refused, never crash")
struct HostileOnnxTests {
    @Test("every truncation of a real model is refused or read, never a crash")
    func truncations() throws {
        let data = try Data(contentsOf: ExpectedOutputs.fixtures.appendingPathComponent("resnet.onnx"))
        for length in stride(from: 0, to: data.count, by: 97) {
            do { _ = try OnnxModel(data: data.prefix(length), source: "cut") } catch {
                #expect(error.message.contains("cut"))
            }
        }
    }

    @Test("impossible tensor dimensions, an oversized input and enormous pads are refused")
    func impossibleSizes() throws {
        var huge = GraphBuilder(inputShape: [1, 2, 2])
        huge.floats("w", Tensor.zeros([2, 4]))
        var model = try Onnx_ModelProto(serializedBytes: try huge.data())
        model.graph.initializer[0].dims = [1 << 40, 1 << 40]
        #expect(throws: OnnxError.self) { try OnnxModel(data: try model.serializedData(), source: "dims") }
        model.graph.initializer[0].dims = [-2, -4]
        #expect(throws: OnnxError.self) { try OnnxModel(data: try model.serializedData(), source: "negative") }

        var big = GraphBuilder(inputShape: [3, 4096, 4096])
        big.node("Flatten", ["image"], ["logits"])
        let error = #expect(throws: OnnxError.self) { try big.model() }
        #expect(error?.message.contains("values Amnesia accepts") == true)

        var padded = GraphBuilder(inputShape: [1, 4, 4])
        padded.node("AveragePool", ["image"], ["p"], [attribute("kernel_shape", ints: [3, 3]), attribute("pads", ints: [1 << 30, 1 << 30, 1 << 30, 1 << 30]),
                                                     attribute("count_include_pad", int: 1)])
        padded.node("Flatten", ["p"], ["logits"])
        #expect(throws: OnnxError.self) { try padded.model() }
    }

    @Test("shape arithmetic that overflows, and a reshape to an impossible shape, name their node")
    func hostileShapes() throws {
        var b = GraphBuilder(inputShape: [1, 2, 2])
        b.ints("big", [Int.max])
        b.node("Shape", ["image"], ["s"])
        b.node("Mul", ["s", "big"], ["m"], name: "/overflow")
        b.node("Reshape", ["image", "m"], ["logits"])
        let error = #expect(throws: OnnxError.self) { try b.model() }
        #expect(error?.message.contains("'/overflow'") == true)

        var r = GraphBuilder(inputShape: [1, 2, 2])
        r.ints("shape", [1 << 40, 1 << 40, -1])
        r.node("Reshape", ["image", "shape"], ["logits"], name: "/reshape")
        let reshape = #expect(throws: OnnxError.self) { try r.model() }
        #expect(reshape?.message.contains("'/reshape'") == true)
    }

    @Test("a graph that only runs at its exported batch size is refused at load")
    func batchBound() throws {
        var b = GraphBuilder(inputShape: [1, 2, 2])
        b.ints("shape", [2, 4])
        b.node("Reshape", ["image", "shape"], ["logits"], name: "/fixed")
        let error = #expect(throws: OnnxError.self) { try b.model() }
        #expect(error?.message.contains("'/fixed'") == true)
    }

    @Test("an attribute given twice on one node is refused, not read as its first value")
    func repeatedAttribute() throws {
        func flatten(_ attributes: [Onnx_AttributeProto]) throws -> OnnxModel {
            var b = GraphBuilder(inputShape: [1, 2, 2])
            b.node("Flatten", ["image"], ["logits"], attributes, name: "/flat")
            return try b.model()
        }
        _ = try flatten([attribute("axis", int: 1)])
        let error = #expect(throws: OnnxError.self) { try flatten([attribute("axis", int: 1), attribute("axis", int: 0)]) }
        #expect(error?.message.contains("'/flat' (Flatten): attribute 'axis' is given more than once") == true, "\(String(describing: error))")
    }

    @Test("a Concat of shape values along an axis they do not have is refused")
    func concatAxis() throws {
        func reshaped(axis: Int) throws -> OnnxModel {
            var b = GraphBuilder(inputShape: [1, 2, 2])
            b.ints("rest", [-1])
            b.ints("four", [4])
            b.node("Concat", ["rest", "four"], ["shape"], [attribute("axis", int: axis)], name: "/join")
            b.node("Reshape", ["image", "shape"], ["logits"])
            return try b.model()
        }
        #expect(try reshaped(axis: 0).classes == 4)
        for axis in [1, 5, -2] {
            let error = #expect(throws: OnnxError.self) { try reshaped(axis: axis) }
            #expect(error?.message.contains("'/join'") == true && error?.message.contains("axis \(axis)") == true, "\(String(describing: error))")
        }
    }
}
