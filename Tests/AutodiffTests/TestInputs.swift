import Autodiff

/// Random inputs for checks, away from kinks when asked.
func random(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1, awayFromZero: Float = 0) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape) { out in
        for i in 0..<out.count {
            var value = low + (high - low) * rng.nextUniform()
            if abs(value) < awayFromZero { value = value < 0 ? -awayFromZero - value : awayFromZero + value }
            out[i] = value
        }
    }
}

/// Distinct values spaced well apart (0.05) in a random order, so max-pool's argmax
/// does not change under finite-difference steps.
func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    let count = shape.reduce(1, *)
    let order = (0..<count).shuffled(using: &rng)
    return Tensor(shape: shape, scalars: order.map { Float($0) * 0.05 - Float(count) * 0.025 })
}
