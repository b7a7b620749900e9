import Foundation

/// The learning rate, and for one-cycle the momentum, at each optimizer step of a
/// training run. Steps count from 0 over the whole run, so schedules move per iteration.
public protocol LearningRateSchedule: Sendable {
    /// The learning rate of step `step` (0-based, over every epoch).
    func rate(at step: Int) -> Float
    /// The momentum (SGD) or β1 (Adam) of step `step`, or nil to keep the optimizer's own.
    func momentum(at step: Int) -> Float?
}

extension LearningRateSchedule {
    public func momentum(at step: Int) -> Float? { nil }
}

/// A constant rate multiplied by `factor` at the start of each epoch listed in
/// `epochs` (PyTorch's MultiStepLR stepped per epoch), multiplied in order so the rates
/// are bit for bit those of multiplying the optimizer's rate in place.
public struct StepDecay: LearningRateSchedule {
    public let base: Float, factor: Float
    public let epochs: [Int]
    public let stepsPerEpoch: Int

    public init(base: Float, factor: Float, epochs: [Int], stepsPerEpoch: Int) {
        (self.base, self.factor, self.epochs, self.stepsPerEpoch) = (base, factor, epochs, max(stepsPerEpoch, 1))
    }

    public func rate(at step: Int) -> Float {
        (0...(step / stepsPerEpoch)).reduce(base) { rate, epoch in epochs.contains(epoch) ? rate * factor : rate }
    }
}

/// Cosine annealing from `peak` to `final` over the steps after a linear warm-up from 0:
/// step t < W has rate peak·t/W, later steps final + (peak − final)·(1 + cos(π(t − W)/(T − W)))/2
/// for T steps in all. Without warm-up this is PyTorch's CosineAnnealingLR(T_max: T,
/// eta_min: final) stepped per iteration; with it, Hugging Face's
/// get_cosine_schedule_with_warmup (extended to a nonzero final rate).
public struct CosineAnnealing: LearningRateSchedule {
    public let peak: Float, final: Float
    public let warmupSteps: Int, totalSteps: Int

    public init(peak: Float, final: Float = 0, warmupSteps: Int = 0, totalSteps: Int) {
        (self.peak, self.final, self.warmupSteps, self.totalSteps) = (peak, final, warmupSteps, totalSteps)
    }

    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return Float(Double(peak) * Double(step) / Double(warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return Float(Double(final) + Double(peak - final) * (1 + cos(Double.pi * progress)) / 2)
    }
}

/// PyTorch's OneCycleLR with its defaults (two phases, cosine annealing, momentum
/// cycled): over the first `warmupFraction` (pct_start, 0.3) of the steps the rate rises
/// from maxRate/25 to maxRate while momentum falls from 0.95 to 0.85; over the rest the
/// rate falls to maxRate/25/10⁴ while momentum rises back to 0.95. Phase one ends at step
/// warmupFraction·T − 1, phase two at T − 1, as PyTorch counts them.
public struct OneCycle: LearningRateSchedule {
    public let maxRate: Float
    public let totalSteps: Int
    public let warmupFraction: Double
    /// PyTorch's defaults: div_factor, final_div_factor, base_momentum, max_momentum.
    public static let divFactor = 25.0, finalDivFactor = 1e4, baseMomentum = 0.85, maxMomentum = 0.95

    public init(maxRate: Float, totalSteps: Int, warmupFraction: Double = 0.3) {
        (self.maxRate, self.totalSteps, self.warmupFraction) = (maxRate, totalSteps, warmupFraction)
    }

    public func rate(at step: Int) -> Float {
        let initial = Double(maxRate) / Self.divFactor
        let (phase, fraction) = position(step)
        return Float(phase == 0 ? Self.anneal(initial, Double(maxRate), fraction)
                                : Self.anneal(Double(maxRate), initial / Self.finalDivFactor, fraction))
    }

    public func momentum(at step: Int) -> Float? {
        let (phase, fraction) = position(step)
        return Float(phase == 0 ? Self.anneal(Self.maxMomentum, Self.baseMomentum, fraction)
                                : Self.anneal(Self.baseMomentum, Self.maxMomentum, fraction))
    }

    /// The phase (0 or 1) of `step` and how far into it the step is, in [0, 1].
    private func position(_ step: Int) -> (phase: Int, fraction: Double) {
        let warmupEnd = warmupFraction * Double(totalSteps) - 1, end = Double(totalSteps - 1)
        let t = Double(step)
        func fraction(_ start: Double, _ stop: Double) -> Double { stop > start ? (t - start) / (stop - start) : 1 }
        return t <= warmupEnd ? (0, fraction(0, warmupEnd)) : (1, fraction(warmupEnd, end))
    }

    /// Cosine interpolation from `start` (fraction 0) to `end` (fraction 1).
    private static func anneal(_ start: Double, _ end: Double, _ fraction: Double) -> Double {
        end + (start - end) / 2 * (cos(Double.pi * fraction) + 1)
    }
}
