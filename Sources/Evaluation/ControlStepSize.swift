import Poisoning

/// The step size a real-image control gets: chosen on crafting victims and training
/// images only, never on the held-out victims it is scored on.
public enum ControlStepSize {
    /// Step sizes tried by `choose`.
    public static let candidates: [Float] = [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]

    /// The candidate with the best mean accuracy against the objective's labels (high ASR
    /// without wrecking the other classes) on `victims`, scored by `evaluator`.
    public static func choose(_ poison: PoisonSet, evaluator: Evaluator, victims: [EvaluatedVictim]) -> Float {
        var best: (size: Float, score: Double) = (candidates[0], -1)
        let before = evaluator.baseline(victims)
        for size in candidates {
            var trial = poison
            trial.stepSizes = trial.stepSizes.map { _ in size }
            let score = evaluator.evaluate(victims, poison: trial, before: before).victims.summary.after.targetAccuracy.mean
            if score > best.score { best = (size, score) }
        }
        return best.size
    }
}
