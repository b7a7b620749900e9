import Autodiff
import Datasets
import Distillation
import Evaluation
import Foundation
import Networks
import Victims

/// The fixed workloads of `amnesia bench`. The LeNet ones mirror `bench/pytorch_reference.py`
/// one for one, so the two tools' rows can be compared directly; the ConvNet ones time the
/// published evaluation (`evaluation: published`), whose networks dominate its cost.
enum BenchWorkload: String, CaseIterable {
    case attackIPC1 = "attack-ipc1"
    case attackIPC10 = "attack-ipc10"
    case train
    case eval
    case convnetStep = "convnet-step"
    case convnetEval = "convnet-eval"

    /// One line for `--help` and the table.
    var summary: String {
        switch self {
        case .attackIPC1: "one crafting iteration of the published attack (the default spec without its learned labels and reweighted real batches), 1 image per class (10 images), 4 victims, real batch 256; ms per iteration"
        case .attackIPC10: "the same with 10 images per class (100 images, the default budget); ms per iteration"
        case .train: "one epoch of LeNet training on the 60,000 training images, batch 64, SGD momentum 0.9; images per second"
        case .eval: "inference on the 10,000 test images; images per second"
        case .convnetStep: "one training step of the published evaluation (a fresh ConvNet-3, width 128, on 100 training images: initialization, forward, backward, SGD), the batch split over --workers threads; ms per iteration"
        case .convnetEval: "the published evaluation's scoring: a ConvNet-3 on the 10,000 test images, on one worker as each network is scored; images per second"
        }
    }
}

extension BenchRunner {
    /// One crafting iteration exactly as `amnesia craft` runs it, with the spec pinned to
    /// one epoch, 4 victims and a real batch of 256 so the workload stays fixed when the
    /// committed spec is tuned; `--unrolled-steps` steps (1 unless asked).
    func attack(imagesPerClass: Int, classifier: LeNet, data: PreparedData) throws -> BenchRow {
        guard FileManager.default.fileExists(atPath: options.spec) else {
            throw BenchError("attack spec \(options.spec) not found; run from the repository root or pass --spec PATH")
        }
        var spec = try loadAttackSpec(options.spec)
        spec.imagesPerClass = imagesPerClass
        (spec.steps, spec.epochs, spec.victimsPerIteration, spec.realBatchSize) = (options.unrolledSteps, 1, 4, 256)
        spec.knowledge = .distribution
        let (forget, target) = try spec.classes(data.info.classNames)
        let victims = Self.victimSeeds.map { seed in
            var rng = SeededGenerator(seed: seed)
            return classifier.initialParameters(.pytorchDefault, using: &rng)
        }
        let crafter = UnrolledSteps(spec: spec, context: spec.craftingContext(
            classifier: classifier, data: data, victims: victims, forget: forget, target: target, architecture: "lenet"))
        var state = crafter.initialState()
        for _ in 0..<options.warmup { crafter.iterate(&state, workers: options.workers) }
        let samples = (0..<options.iterations).map { _ in
            seconds { crafter.iterate(&state, workers: options.workers) } * 1000
        }
        return BenchRow(workload: "", msPerIter: median(samples), imagesPerS: nil, min: samples.min() ?? 0,
                        max: samples.max() ?? 0, repeats: samples.count, peakRssMb: 0, load1m: 0)
    }

    /// One epoch of the zoo's training loop (`Trainer.train`), batch 64, SGD with momentum
    /// 0.9 and the zoo recipe's learning rate and weight decay, each batch split over
    /// `--workers` cores. A single sample: an epoch is ~940 steps, long enough that
    /// warm-up is negligible.
    func train(classifier: LeNet, data: PreparedData) -> BenchRow {
        var recipe = TrainingRecipe()
        (recipe.epochs, recipe.batchSize, recipe.optimizer, recipe.momentum, recipe.decayEpochs) = (1, 64, .sgd, 0.9, [])
        let elapsed = seconds { _ = Trainer.train(classifier, on: data.train, recipe: recipe, seed: 1, workers: options.workers) }
        let rate = Double(data.train.count) / elapsed
        return BenchRow(workload: "", msPerIter: nil, imagesPerS: rate, min: rate, max: rate, repeats: 1, peakRssMb: 0, load1m: 0)
    }

    /// Batched inference over the test split (`Trainer.predictions`), batches spread over
    /// `--workers` cores.
    func eval(classifier: LeNet, data: PreparedData) -> BenchRow {
        var rng = SeededGenerator(seed: Self.victimSeeds[0])
        let parameters = classifier.initialParameters(.pytorchDefault, using: &rng)
        _ = Trainer.predictions(classifier, parameters, on: data.test, workers: options.workers)
        let rates = (0..<Self.evalRepeats).map { _ in
            Double(data.test.count) / seconds { _ = Trainer.predictions(classifier, parameters, on: data.test, workers: options.workers) }
        }
        return BenchRow(workload: "", msPerIter: nil, imagesPerS: median(rates), min: rates.min() ?? 0,
                        max: rates.max() ?? 0, repeats: rates.count, peakRssMb: 0, load1m: 0)
    }

    /// One step of `PublishedProtocol.train` exactly as the published evaluation runs it:
    /// 100 training images in one batch (one step per epoch) split over `--workers` threads
    /// (what a network training alone gets), timed like the attack workloads (median of
    /// `--iterations` after `--warmup`).
    func convnetStep(classifier: ConvNet, data: PreparedData) -> BenchRow {
        let evaluation = PublishedProtocol(classifier: classifier, epochs: 1, networks: 1, seed: 0)
        let images = data.train.batch(0..<100)
        let targets = PublishedProtocol.oneHot(Array(data.train.labels[0..<100]), classes: classifier.classes)
        for _ in 0..<options.warmup { _ = evaluation.train(images: images, targets: targets, seed: 1, workers: options.workers) }
        let samples = (0..<options.iterations).map { _ in
            seconds { _ = evaluation.train(images: images, targets: targets, seed: 1, workers: options.workers) } * 1000
        }
        return BenchRow(workload: "", msPerIter: median(samples), imagesPerS: nil, min: samples.min() ?? 0,
                        max: samples.max() ?? 0, repeats: samples.count, peakRssMb: 0, load1m: 0)
    }

    /// One pass of a fresh ConvNet-3 over the test split, as `PublishedProtocol` scores a
    /// network. A single sample: the pass is long enough that warm-up is negligible.
    func convnetEval(classifier: ConvNet, data: PreparedData) -> BenchRow {
        var rng = SeededGenerator(seed: Self.victimSeeds[0])
        let parameters = classifier.initialParameters(.pytorchDefault, using: &rng)
        let rate = Double(data.test.count) / seconds { _ = Trainer.predictions(classifier, parameters, on: data.test) }
        return BenchRow(workload: "", msPerIter: nil, imagesPerS: rate, min: rate, max: rate, repeats: 1, peakRssMb: 0, load1m: 0)
    }
}
