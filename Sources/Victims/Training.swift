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
    ///
    /// - Parameter workers: threads that each take a share of every batch (data
    ///   parallelism inside one training run). Zoos instead train several victims side by
    ///   side with one worker each; results depend on the worker count only through the
    ///   order in which the shares' gradients are added.
    /// - Parameter epochEnded: called with the 1-based epoch and the parameters after it.
    public static func train(
        _ classifier: any Classifier, on data: LabeledImages, recipe: TrainingRecipe, seed: UInt64,
        workers: Int = 1, progress: (TrainingProgress) -> Void = { _ in },
        epochEnded: (_ epoch: Int, _ parameters: [Tensor]) -> Void = { _, _ in }
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
                let (loss, grads, moved) = batchGradients(classifier, parameters, data, Array(indices), workers: workers)
                parameters = optimizer.step(parameters, grads)
                // What the forward pass itself moved (batch norm's running statistics) is
                // not a weight: it takes the value the pass left, untouched by the optimizer.
                for (i, value) in moved { parameters[i] = value }
                totalLoss += loss
                if b % 50 == 49 || b == batches - 1 {
                    let seen = Double(min(data.count, (b + 1) * recipe.batchSize))
                    progress(TrainingProgress(epoch: epoch + 1, epochs: recipe.epochs, batch: b + 1, batches: batches,
                                              loss: totalLoss / Float(b + 1),
                                              imagesPerSecond: seen / max(Date().timeIntervalSince(start), 1e-9)))
                }
            }
            epochEnded(epoch + 1, parameters)
        }
        return parameters
    }

    /// The mean loss of a batch, its gradient, and the parameters its training-mode forward
    /// pass moved (by index; see `Classifier.trainingForward`), the batch split into
    /// `workers` shares computed side by side and recombined weighted by share size.
    static func batchGradients(_ classifier: any Classifier, _ parameters: [Tensor], _ data: LabeledImages,
                               _ indices: [Int], workers: Int) -> (Float, [Tensor], moved: [Int: Tensor]) {
        let workers = max(workers, 1)
        let shareSize = (indices.count + workers - 1) / workers
        let shares = stride(from: 0, to: indices.count, by: shareSize).map { Array(indices[$0..<min(indices.count, $0 + shareSize)]) }
        let parts = parallelMap(shares, workers: workers) { share -> (Float, [Tensor], [Int: Tensor]) in
            let leaves = parameters.map { $0.requiringGradient() }
            let (logits, carried) = classifier.trainingForward(data.batch(share), leaves)
            let loss = crossEntropy(logits, labels: share.map { data.labels[$0] })
            let moved = Dictionary(uniqueKeysWithValues: carried.indices
                .filter { carried[$0].storage !== leaves[$0].storage }.map { ($0, carried[$0].detached()) })
            return (loss.item, gradients(of: loss, wrt: leaves), moved)
        }
        guard parts.count > 1 else { return parts[0] }
        return GradientMode.withoutRecording {
            let weights = shares.map { Float($0.count) / Float(indices.count) }
            let loss = zip(parts, weights).map { $0.0 * $1 }.reduce(0, +)
            let weighted = zip(parts, weights).map { part, weight in part.1.map { $0 * weight } }
            // Each share's statistics, averaged by share size.
            let moved = Dictionary(uniqueKeysWithValues: parts[0].2.keys.map { i in
                (i, zip(parts, weights).dropFirst().reduce(parts[0].2[i]! * weights[0]) { $0 + $1.0.2[i]! * $1.1 })
            })
            return (loss, weighted.dropFirst().reduce(weighted[0]) { zip($0, $1).map(+) }, moved)
        }
    }

    /// Predicted classes for every image of `data`, in batches, without a graph. Batches
    /// stay small enough that im2col buffers are reused from the heap rather than mapped
    /// afresh (page faults dominated evaluation with batches of 1000).
    /// `workers` threads take batches side by side.
    public static func predictions(_ classifier: any Classifier, _ parameters: [Tensor], on data: LabeledImages,
                                   batchSize: Int = 256, workers: Int = 1) -> [Int] {
        let starts = Array(stride(from: 0, to: data.count, by: batchSize))
        return parallelMap(starts, workers: workers) { start in
            classifier.predictions(data.batch(start..<min(data.count, start + batchSize)), parameters)
        }.flatMap { $0 }
    }
}
