import Autodiff
import Datasets
import Foundation
import Networks
import Victims

/// The evaluation protocol of the DC, DSA and DM papers (their reference code's
/// `evaluate_synset`): fresh networks trained from scratch on a small training set to
/// convergence — SGD, momentum 0.9, weight decay 5·10⁻⁴, rate 0.01 cut tenfold after half
/// the epochs, shuffled batches of 256 — then scored on the test split. The score of a
/// distilled set is the mean ± std over several initializations; real-image controls are
/// scored the same way, so the comparison is the papers' own.
public struct PublishedProtocol: Sendable {
    public let classifier: any Classifier
    public let epochs: Int
    public let seeds: [UInt64]
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var batchSize = 256
    /// Draws a view of each training batch (DSA augmentation) from the network's own
    /// generator; nil: batches as stored.
    public var augmentation: (@Sendable (Tensor, inout SeededGenerator) -> Tensor)?

    /// `networks` initializations of `classifier`, seeds `seed`+1 … `seed`+networks.
    public init(classifier: any Classifier, epochs: Int, networks: Int, seed: UInt64) {
        (self.classifier, self.epochs) = (classifier, epochs)
        seeds = (1...UInt64(max(networks, 1))).map { seed &+ $0 }
    }

    /// The learning rate of 0-based epoch `epoch`.
    public func rate(epoch: Int) -> Float { epoch < epochs / 2 ? learningRate : learningRate * 0.1 }

    /// Parameters trained from seed `seed` on `images` [N, C, H, W] with `targets`
    /// [N, classes] (one-hot or soft labels, cross-entropy against them), each batch split
    /// over `workers` threads (results depend on the count only through the order in which
    /// the shares' gradients are added).
    public func train(images: Tensor, targets: Tensor, seed: UInt64, workers: Int = 1) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        var parameters = classifier.initialParameters(.pytorchDefault, using: &rng)
        var optimizer = SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        let count = images.shape[0], imageSize = images.count / max(count, 1), classes = targets.shape[1]
        let (pixels, labels) = (images.scalars, targets.scalars)
        for epoch in 0..<epochs {
            optimizer.learningRate = rate(epoch: epoch)
            let order = (0..<count).shuffled(using: &rng)
            for start in stride(from: 0, to: count, by: batchSize) {
                let rows = order[start..<min(count, start + batchSize)]
                var x = Tensor(shape: [rows.count] + images.shape.dropFirst(),
                               scalars: rows.flatMap { pixels[($0 * imageSize)..<(($0 + 1) * imageSize)] })
                if let augmentation { x = augmentation(x, &rng) }
                let y = Tensor(shape: [rows.count, classes], scalars: rows.flatMap { labels[($0 * classes)..<(($0 + 1) * classes)] })
                let (network, current) = (classifier, parameters)
                let (_, gradient, _) = Trainer.sharedGradients(count: rows.count, workers: workers) { [x] share in
                    func part(_ t: Tensor) -> Tensor { share.count == t.shape[0] ? t : sliced(t, axis: 0, range: share) }
                    let leaves = current.map { $0.requiringGradient() }
                    let loss = crossEntropy(network.logits(part(x), leaves), targets: part(y))
                    return (loss.item, gradients(of: loss, wrt: leaves), [:])
                }
                parameters = optimizer.step(parameters, gradient)
            }
        }
        return parameters
    }

    /// Test accuracy of every seed's network trained on the set, in seed order, each
    /// network on its own worker. Seeds in `known` (scores of an interrupted run) are not
    /// trained again; `finished` hears of each network trained, `progress` too, in words.
    public func accuracies(images: Tensor, targets: Tensor, test: LabeledImages, workers: Int = 2,
                           known: [UInt64: Double] = [:], finished: @Sendable (UInt64, Double) -> Void = { _, _ in },
                           progress: @Sendable (String) -> Void = { _ in }) -> [Double] {
        // Workers no network needs share each network's batches (one network: both cores).
        let perNetwork = max(1, workers / min(workers, max(1, seeds.filter { known[$0] == nil }.count)))
        return parallelMap(seeds, workers: workers) { seed in
            if let accuracy = known[seed] { return accuracy }
            let start = Date()
            let parameters = train(images: images, targets: targets, seed: seed, workers: perNetwork)
            let predictions = Trainer.predictions(classifier, parameters, on: test, workers: perNetwork)
            let accuracy = Double(zip(predictions, test.labels).filter { $0 == $1 }.count) / Double(max(test.count, 1))
            finished(seed, accuracy)
            progress(String(format: "  network seed %llu: test accuracy %.2f%% (%.0f s)", seed, 100 * accuracy,
                            Date().timeIntervalSince(start)))
            return accuracy
        }
    }

    /// One-hot targets [N, classes] of `labels`.
    public static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        Trainer.smoothedTargets(labels, classes: classes, smoothing: 0)
    }
}
