import Autodiff
import Datasets
import Foundation
import Networks

/// Where a training run is, for progress displays.
public struct TrainingProgress: Sendable {
    public let epoch, epochs: Int
    public let batch, batches: Int
    /// Mean training loss over the epoch so far.
    public let loss: Float
    public let imagesPerSecond: Double
}

/// Mini-batch cross-entropy training and batched inference.
public enum Trainer {
    /// Trains fresh parameters for `classifier` on normalized `data` following `recipe`.
    /// Everything random (initialization, shuffles) is drawn from `seed`.
    public static func train(
        _ classifier: any Classifier, on data: LabeledImages, recipe: TrainingRecipe, seed: UInt64,
        progress: (TrainingProgress) -> Void = { _ in }
    ) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        let scheme = Initialization(rawValue: recipe.initialization) ?? .pytorchDefault
        var parameters = classifier.initialParameters(scheme, using: &rng)
        var optimizer: any Optimizer = recipe.optimizer == "adam"
            ? Adam(learningRate: recipe.learningRate)
            : SGD(learningRate: recipe.learningRate, momentum: recipe.momentum, weightDecay: recipe.weightDecay)
        let batches = (data.count + recipe.batchSize - 1) / recipe.batchSize
        for epoch in 0..<recipe.epochs {
            if recipe.decayEpochs.contains(epoch) { optimizer.learningRate *= recipe.decay }
            let order = (0..<data.count).shuffled(using: &rng)
            let start = Date()
            var totalLoss: Float = 0
            for b in 0..<batches {
                let indices = order[(b * recipe.batchSize)..<min(data.count, (b + 1) * recipe.batchSize)]
                let leaves = parameters.map { $0.requiringGradient() }
                let loss = crossEntropy(classifier.logits(data.batch(indices), leaves), labels: indices.map { data.labels[$0] })
                parameters = optimizer.step(parameters, gradients(of: loss, wrt: leaves))
                totalLoss += loss.item
                if b % 50 == 49 || b == batches - 1 {
                    let seen = Double(min(data.count, (b + 1) * recipe.batchSize))
                    progress(TrainingProgress(epoch: epoch + 1, epochs: recipe.epochs, batch: b + 1, batches: batches,
                                              loss: totalLoss / Float(b + 1),
                                              imagesPerSecond: seen / max(Date().timeIntervalSince(start), 1e-9)))
                }
            }
        }
        return parameters
    }

    /// Predicted classes for every image of `data`, in batches, without a graph. Batches
    /// stay small enough that im2col buffers are reused from the heap rather than mapped
    /// afresh (page faults dominated evaluation with batches of 1000).
    public static func predictions(_ classifier: any Classifier, _ parameters: [Tensor], on data: LabeledImages,
                                   batchSize: Int = 256) -> [Int] {
        stride(from: 0, to: data.count, by: batchSize).flatMap { start in
            classifier.predictions(data.batch(start..<min(data.count, start + batchSize)), parameters)
        }
    }

    /// Overall and per-class accuracy of `predictions` against `labels`.
    public static func accuracy(_ predictions: [Int], _ labels: [Int], classes: Int) -> (overall: Double, perClass: [Double]) {
        var correct = [Int](repeating: 0, count: classes), total = [Int](repeating: 0, count: classes)
        for (p, y) in zip(predictions, labels) {
            total[y] += 1
            if p == y { correct[y] += 1 }
        }
        let overall = Double(correct.reduce(0, +)) / Double(max(labels.count, 1))
        return (overall, zip(correct, total).map { Double($0) / Double(max($1, 1)) })
    }
}
