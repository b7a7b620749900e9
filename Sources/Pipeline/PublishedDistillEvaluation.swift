import Autodiff
import Distillation
import Evaluation
import Foundation
import Networks
import Poisoning
import Results

extension DistillRun {
    /// The distilled set, and unless the spec turns them off the real-image controls with
    /// as many images, under the papers' protocol (`evaluation: published`): fresh ConvNet
    /// networks trained to convergence on each set and scored on the test split. Each
    /// network's score is saved as it finishes (`PublishedScores`), so a run interrupted
    /// here resumes with the networks it has not scored. With a `curve`, the run's
    /// snapshots are scored too, and the curve carried to `extrapolate_to`.
    public func publishedEvaluation(_ distilled: PoisonSet, workers: Int = 2,
                                    progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> PublishedEvaluationResult {
        let (spec, data) = (run.spec, run.data)
        let options = spec.publishedEvaluation ?? PublishedEvaluationOptions()
        let network = try ConvNet(inputShape: run.classifier.inputShape, classes: run.classifier.classes,
                                  width: options.width, depth: options.depth)
        var evaluation = PublishedProtocol(classifier: network, epochs: options.epochs, networks: options.networks, seed: spec.seed)
        let shape = (height: network.inputShape[1], width: network.inputShape[2])
        if options.dsa { evaluation.augmentation = { images, rng in Self.siameseViews(of: images, size: shape, using: &rng) } }
        let recipe = "ConvNet-\(options.depth) (width \(options.width), instance norm, ReLU, average pooling) trained for \(options.epochs) epochs: SGD momentum 0.9, weight decay 0.0005, learning rate 0.01 cut tenfold after half the epochs, batches of 256, \(options.dsa ? "DSA augmentation (shift, scale, rotation, flip) of every batch" : "no augmentation")"
        let start = Date(), saved = PublishedScores(directory: directory)
        func score(_ name: String, _ set: PoisonSet) -> [Double] {
            let targets = set.softLabels ?? PublishedProtocol.oneHot(set.labels, classes: network.classes)
            let fingerprint = PublishedScores.fingerprint(recipe: recipe, images: set.images, targets: targets)
            let known = saved.known(fingerprint, seeds: evaluation.seeds)
            progress("published evaluation of \(name) (\(set.labels.count) images\(known.isEmpty ? "" : ", \(known.count) network(s) scored earlier"))")
            return evaluation.accuracies(images: set.images, targets: targets, test: data.test, workers: workers, known: known,
                                         finished: { seed, accuracy in
                do { try saved.record(fingerprint, seed: seed, accuracy: accuracy) } catch {
                    progress("  could not save network seed \(seed)'s score in \(PublishedScores.fileName) (\(error)); it is trained again if the evaluation is interrupted")
                }
            }, progress: progress)
        }
        progress("published evaluation: \(recipe)")
        let distilledScores = score("the distilled set", distilled)
        var curve: [PublishedEvaluationResult.CurvePoint] = []
        for iteration in options.curve {
            let url = run.snapshotURL(iteration)
            guard FileManager.default.fileExists(atPath: url.path) else {
                progress("no snapshot of iteration \(iteration) (\(url.path)): this run distilled before its spec asked for the curve; that point is left out")
                continue
            }
            curve.append(.init(iteration: iteration, accuracies: score("the set at iteration \(iteration)", try PoisonSet(contentsOf: url))))
        }
        if !options.curve.isEmpty { curve.append(.init(iteration: spec.iterations, accuracies: distilledScores)) }
        var controls: [String: [Double]] = [:]
        if options.controls {
            let context = run.craftingContext(victims: [])
            for (key, _, set) in realImageControls(context: context, perClass: spec.imagesPerClass * spec.steps, seed: spec.seed) {
                controls[key] = score("control \(key)", set)
            }
        }
        return PublishedEvaluationResult(recipe: recipe, seeds: evaluation.seeds, distilled: distilledScores, controls: controls,
                                         curve: curve, extrapolation: options.extrapolateTo.flatMap { .init(curve: curve, to: $0) },
                                         seconds: Date().timeIntervalSince(start))
    }

    /// `images` [N, C, H, W], each through its own DSA transform drawn from `rng`.
    static func siameseViews(of images: Tensor, size: (height: Int, width: Int), using rng: inout SeededGenerator) -> Tensor {
        let count = images.shape[0], imageSize = images.count / max(count, 1)
        let pixels = images.scalars
        let viewed = (0..<count).flatMap { i in
            let image = Tensor(shape: [1] + images.shape.dropFirst(), scalars: Array(pixels[(i * imageSize)..<((i + 1) * imageSize)]))
            return SiameseAugmentation(drawnFor: size, using: &rng).apply(image).scalars
        }
        return Tensor(shape: images.shape, scalars: viewed)
    }
}
