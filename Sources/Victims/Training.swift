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
    /// Everything random (initialization, shuffles, augmentation) is drawn from `seed`.
    ///
    /// - Parameter workers: threads that each take a share of every batch (data
    ///   parallelism inside one training run). Zoos instead train several victims side by
    ///   side with one worker each; results depend on the worker count only through the
    ///   order in which the shares' gradients are added.
    /// - Parameter cropFill: per channel, the value of the pixels a random crop brings in
    ///   (normalized black); zeros when empty.
    /// - Parameter epochEnded: called with the 1-based epoch and the parameters after it.
    public static func train(
        _ classifier: any Classifier, on data: LabeledImages, recipe: TrainingRecipe, seed: UInt64,
        workers: Int = 1, cropFill: [Float] = [], progress: (TrainingProgress) -> Void = { _ in },
        epochEnded: (_ epoch: Int, _ parameters: [Tensor]) -> Void = { _, _ in }
    ) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        var parameters = classifier.initialParameters(recipe.initialization, using: &rng)
        var optimizer = recipe.makeOptimizer()
        let batches = (data.count + recipe.batchSize - 1) / recipe.batchSize
        let schedule = recipe.makeSchedule(stepsPerEpoch: batches)
        let fill = cropFill.isEmpty ? [Float](repeating: 0, count: data.channels) : cropFill
        for epoch in 0..<recipe.epochs {
            let order = (0..<data.count).shuffled(using: &rng)
            let start = Date()
            var totalLoss: Float = 0
            for b in 0..<batches {
                let step = epoch * batches + b
                optimizer.learningRate = schedule.rate(at: step)
                if let momentum = schedule.momentum(at: step) { optimizer.momentum = momentum }
                let indices = Array(order[(b * recipe.batchSize)..<min(data.count, (b + 1) * recipe.batchSize)])
                let batch = TrainingBatch(indices: indices, views: recipe.augmentation.draw(count: indices.count, using: &rng), fill: fill)
                let (loss, grads, moved) = batchGradients(classifier, parameters, data, batch,
                                                          labelSmoothing: recipe.labelSmoothing, workers: workers)
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

    /// One mini-batch: its images' indices and, when augmenting, each image's view.
    struct TrainingBatch {
        let indices: [Int]
        /// One per index, or none (images as stored).
        let views: [Augmentation.View]
        let fill: [Float]

        /// The images at `range` of the batch, augmented.
        func images(_ range: Range<Int>, of data: LabeledImages) -> Tensor {
            let stored = data.batch(indices[range])
            return views.isEmpty ? stored : Augmentation.apply(views[range], to: stored, fill: fill)
        }
    }

    /// The mean loss of a batch, its gradient, and the parameters its training-mode forward
    /// pass moved (by index; see `Classifier.trainingForward`), the batch split into
    /// `workers` shares computed side by side and recombined weighted by share size.
    static func batchGradients(_ classifier: any Classifier, _ parameters: [Tensor], _ data: LabeledImages,
                               _ batch: TrainingBatch, labelSmoothing: Float = 0,
                               workers: Int) -> (Float, [Tensor], moved: [Int: Tensor]) {
        sharedGradients(count: batch.indices.count, workers: workers) { share in
            let leaves = parameters.map { $0.requiringGradient() }
            let (logits, carried) = classifier.trainingForward(batch.images(share, of: data), leaves)
            let targets = smoothedTargets(batch.indices[share].map { data.labels[$0] }, classes: logits.shape[1], smoothing: labelSmoothing)
            let loss = crossEntropy(logits, targets: targets)
            let moved = Dictionary(uniqueKeysWithValues: carried.indices
                .filter { carried[$0].storage !== leaves[$0].storage }.map { ($0, carried[$0].detached()) })
            return (loss.item, gradients(of: loss, wrt: leaves), moved)
        }
    }

    /// A batch of `count` items' mean loss, gradient and moved parameters (as
    /// `batchGradients`), from `part` of each of `workers` contiguous shares computed side
    /// by side, recombined weighted by share size. One worker: `part` of the whole batch.
    public static func sharedGradients(count: Int, workers: Int,
                                       _ part: @Sendable (Range<Int>) -> (Float, [Tensor], [Int: Tensor]))
        -> (Float, [Tensor], moved: [Int: Tensor]) {
        let workers = max(workers, 1)
        let shareSize = max((count + workers - 1) / workers, 1)
        let shares = stride(from: 0, to: count, by: shareSize).map { $0..<min(count, $0 + shareSize) }
        let parts = parallelMap(shares, workers: workers, part)
        guard parts.count > 1 else { return parts[0] }
        return GradientMode.withoutRecording {
            let weights = shares.map { Float($0.count) / Float(count) }
            let loss = zip(parts, weights).map { $0.0 * $1 }.reduce(0, +)
            let weighted = zip(parts, weights).map { part, weight in part.1.map { $0 * weight } }
            // Each share's statistics, averaged by share size.
            let moved = Dictionary(uniqueKeysWithValues: parts[0].2.keys.map { i in
                (i, zip(parts, weights).dropFirst().reduce(parts[0].2[i]! * weights[0]) { $0 + $1.0.2[i]! * $1.1 })
            })
            return (loss, weighted.dropFirst().reduce(weighted[0]) { zip($0, $1).map(+) }, moved)
        }
    }

    /// `batchGradients` of the images at `indices` as stored, with plain cross-entropy.
    static func batchGradients(_ classifier: any Classifier, _ parameters: [Tensor], _ data: LabeledImages,
                               _ indices: [Int], workers: Int) -> (Float, [Tensor], moved: [Int: Tensor]) {
        batchGradients(classifier, parameters, data, TrainingBatch(indices: indices, views: [], fill: []), workers: workers)
    }

    /// Label-smoothed targets [N, classes]: 1 − ε + ε/classes at each label, ε/classes
    /// elsewhere (PyTorch's `label_smoothing`); exactly one-hot when ε is 0.
    public static func smoothedTargets(_ labels: [Int], classes: Int, smoothing: Float) -> Tensor {
        let off = smoothing / Float(classes)
        return Tensor(shape: [labels.count, classes]) { out in
            out.initialize(repeating: off)
            for (row, label) in labels.enumerated() { out[row * classes + label] = 1 - smoothing + off }
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

extension TrainingRecipe {
    /// A fresh optimizer for this recipe, at its starting learning rate.
    func makeOptimizer() -> any Optimizer {
        switch optimizer {
        case .sgd: SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        case .adam: Adam(learningRate: learningRate, weightDecay: weightDecay, pytorchEpsilon: true)
        case .adamw: AdamW(learningRate: learningRate, weightDecay: weightDecay)
        }
    }

    /// This recipe's learning rate (and momentum) per step, for `stepsPerEpoch` batches
    /// an epoch.
    public func makeSchedule(stepsPerEpoch: Int) -> any LearningRateSchedule {
        let steps = epochs * stepsPerEpoch
        return switch schedule {
        case .step: StepDecay(base: learningRate, factor: decay, epochs: decayEpochs, stepsPerEpoch: stepsPerEpoch)
        case .cosine: CosineAnnealing(peak: learningRate, final: finalLearningRate ?? 0,
                                      warmupSteps: (warmupEpochs ?? 0) * stepsPerEpoch, totalSteps: steps)
        case .oneCycle: OneCycle(maxRate: learningRate, totalSteps: steps, warmupFraction: Double(pctStart ?? 0.3))
        }
    }
}
