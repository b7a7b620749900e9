/// Elementwise arithmetic with broadcasting. Each VJP sums the upstream gradient back to
/// its operand's shape, so broadcasting a bias or a scalar is differentiable both ways.
extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (storage, shape) = broadcastBinary(a, b, +)
        return .result(storage, shape: shape, inputs: [a, b]) { c in
            [c.needs[0] ? c.upstream.sum(toShape: a.shape) : nil,
             c.needs[1] ? c.upstream.sum(toShape: b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (storage, shape) = broadcastBinary(a, b, -)
        return .result(storage, shape: shape, inputs: [a, b]) { c in
            [c.needs[0] ? c.upstream.sum(toShape: a.shape) : nil,
             c.needs[1] ? (-c.upstream).sum(toShape: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (storage, shape) = broadcastBinary(a, b, *)
        return .result(storage, shape: shape, inputs: [a, b]) { c in
            [c.needs[0] ? (c.upstream * b).sum(toShape: a.shape) : nil,
             c.needs[1] ? (c.upstream * a).sum(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let (storage, shape) = broadcastBinary(a, b, /)
        return .result(storage, shape: shape, inputs: [a, b]) { c in
            [c.needs[0] ? (c.upstream / b).sum(toShape: a.shape) : nil,
             c.needs[1] ? (-(c.upstream * a) / (b * b)).sum(toShape: b.shape) : nil]
        }
    }

    public static prefix func - (x: Tensor) -> Tensor {
        let storage = TensorStorage(uninitializedCount: x.count)
        let source = x.buffer, out = storage.buffer
        for i in 0..<out.count { out[i] = -source[i] }
        return .result(storage, shape: x.shape, inputs: [x]) { c in [-c.upstream] }
    }

    public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
    public static func + (a: Float, b: Tensor) -> Tensor { Tensor(a) + b }
    public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }
    public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }
    public static func / (a: Tensor, b: Float) -> Tensor { a * Tensor(1 / b) }
    public static func / (a: Float, b: Tensor) -> Tensor { Tensor(a) / b }
}
