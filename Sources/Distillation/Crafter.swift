import Autodiff
import Datasets
import Dispatch
import Foundation
import Networks
import Synchronization
import Victims

/// The bilevel optimization of the seeds' Algorithm 1 under the K→T objective: learn
/// images x̃ (fixed labels) and step sizes η̃ = softplus(ρ) such that one (or a few)
/// gradient steps on them, from victims sampled from the crafting zoo, minimize the
/// loss on real data whose class-K labels are replaced by T.
public struct Crafter: Sendable {
    public let spec: AttackSpec
    public let classifier: any Classifier
    public let data: PreparedData
    /// The crafting victims' parameters (with fixed knowledge, just the known victim).
    public let victims: [[Tensor]]
    public let forget: Int
    public let target: Int
    /// Training images of class K, and of every other class (for `forgetShare`).
    let forgetIndices: [Int], otherIndices: [Int]

    /// Where the optimization is: everything a checkpoint must hold.
    public struct State: Sendable {
        /// One [M, C, H, W] tensor per step.
        public var images: [Tensor]
        /// Pre-softplus step sizes, one per step per epoch.
        public var rho: [Float]
        /// Logits of the learned soft labels, one [M, classes] tensor per step (empty when
        /// the labels are fixed).
        public var labelLogits: [Tensor]
        public var imageOptimizer: Adam
        public var stepSizeOptimizer: Adam
        public var labelOptimizer: Adam
        /// Iterations completed.
        public var iteration: Int
        /// Outer loss of each completed iteration.
        public var losses: [Float]
        /// HOOK (issue 13): the best poison on the validation split (`robustness.validation_victims`);
        /// not checkpointed, so a resumed run keeps the best from its own iterations.
        public var best: BestPoison? = nil
    }

    public init(spec: AttackSpec, classifier: any Classifier, data: PreparedData, victims: [[Tensor]],
                forget: Int, target: Int) {
        (self.spec, self.classifier, self.data, self.victims) = (spec, classifier, data, victims)
        (self.forget, self.target) = (forget, target)
        let all = Array(0..<data.train.count)
        forgetIndices = all.filter { data.train.labels[$0] == forget }
        otherIndices = all.filter { data.train.labels[$0] != forget }
    }

    var classes: Int { data.info.numClasses }
    /// Images per step: `imagesPerClass` for every class, in class order.
    public var imagesPerStep: Int { spec.imagesPerClass * classes }
    /// The fixed labels of one step: class c for the c-th block.
    public var stepLabels: [Int] { (0..<classes).flatMap { [Int](repeating: $0, count: spec.imagesPerClass) } }

    /// Random images (standard normal in normalized space) and the initial step size.
    public func initialState() -> State {
        var rng = SeededGenerator(seed: spec.seed)
        let images = (0..<spec.steps).map { _ in
            pixelProjected(Tensor.randomNormal([imagesPerStep] + data.inputShape, using: &rng))
        }
        let rho = Foundation.log(Foundation.expm1(spec.initialStepSize))
        // Logits that put 0.9 on the block's class: log(0.9 / (0.1 / (classes − 1))).
        let confident = Foundation.log(0.9 * Float(classes - 1) / 0.1)
        let logits = spec.learnLabels ? (0..<spec.steps).map { _ in Tensor.oneHot(stepLabels, classes: classes) * confident } : []
        let o = spec.optimizer
        return State(images: images, rho: [Float](repeating: rho, count: spec.steps * spec.epochs), labelLogits: logits,
                     imageOptimizer: Adam(learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2),
                     stepSizeOptimizer: Adam(learningRate: o.stepSizeLearningRate, beta1: o.beta1, beta2: o.beta2),
                     labelOptimizer: Adam(learningRate: o.labelLearningRate, beta1: o.beta1, beta2: o.beta2),
                     iteration: 0, losses: [])
    }

    /// The labels the outer objective wants for real labels `y`: K→T for the attack,
    /// unchanged for standard distillation.
    public func objectiveLabel(_ y: Int) -> Int { spec.objective == "forget" && y == forget ? target : y }

    /// One outer iteration. Its randomness (real batch, sampled victims) is drawn from a
    /// generator seeded by (seed, iteration), so a resumed run repeats exactly.
    public func iterate(_ state: inout State, workers: Int = 2) {
        var rng = SeededGenerator(seed: spec.seed &* 0x9E37_79B9 &+ UInt64(state.iteration) &+ 1)
        let batch = realBatch(using: &rng)
        let real = data.train.batch(batch)
        let wanted = outerTargets(batch)
        let pool = samplingPool   // issue 13 hook 5: all but the validation split
        let chosen = spec.knowledge == .fixed || pool.count <= spec.victimsPerIteration
            ? Array(pool.prefix(spec.victimsPerIteration))
            : Array(pool.shuffled(using: &rng).prefix(spec.victimsPerIteration))

        let noiseSeeds = chosen.map { _ in rng.next() }
        let imageLeaves = state.images.map { $0.requiringGradient() }
        let rhoLeaves = state.rho.map { Tensor($0).requiringGradient() }
        let labelLeaves = state.labelLogits.map { $0.requiringGradient() }
        let fixedTargets = Tensor.oneHot(stepLabels, classes: classes)
        let batchLabels = batch.map { data.train.labels[$0] }
        let perVictim = parallelMap(Array(zip(chosen, noiseSeeds)), workers: workers) { victim, noiseSeed -> (Float, [Tensor]) in
            // Issue 13 hooks (Robustness.swift): 2b step scale, 2a augmented images,
            // 1 start weights, 3 outer loss; each is the identity when its option is off.
            let scale = stepScaleFactor(seed: noiseSeed)
            let etas = rhoLeaves.map { scale == 1 ? softplus($0) : softplus($0) * scale }
            let steps = imageLeaves.indices.map { s in
                InnerStep(images: innerImages(imageLeaves[s], seed: noiseSeed, step: s),
                          targets: labelLeaves.isEmpty ? fixedTargets : exp(logSoftmax(labelLeaves[s])))
            }
            let start = startWeights(victims[victim], seed: noiseSeed, real: real, wanted: wanted, batchLabels: batchLabels,
                                     steps: steps, stepSizes: etas)
            let theta = unroll(classifier, from: start, steps: steps, stepSizes: etas,
                               epochs: spec.epochs, createGraph: true)
            let before = spec.robustness.retainKL == nil ? nil : GradientMode.withoutRecording { classifier.logits(real, start) }
            let loss = outerLoss(classifier.logits(real, theta), wanted: wanted, batchLabels: batchLabels, before: before)
            return (loss.item, gradients(of: loss, wrt: imageLeaves + rhoLeaves + labelLeaves))
        }
        let weights = combinedVictimWeights(perVictim.map(\.0))   // issue 13 hook 4
        let summed = GradientMode.withoutRecording {
            perVictim.indices.dropFirst().reduce(perVictim[0].1.map { $0 * weights[0] }) { total, v in
                zip(total, perVictim[v].1).map { $0 + $1 * weights[v] }
            }
        }
        let decays = Float(state.iteration / spec.optimizer.decayEvery)
        let factor = Foundation.pow(spec.optimizer.decay, decays)
        state.imageOptimizer.learningRate = spec.optimizer.learningRate * factor
        state.stepSizeOptimizer.learningRate = spec.optimizer.stepSizeLearningRate * factor
        state.labelOptimizer.learningRate = spec.optimizer.labelLearningRate * factor
        let (imageCount, rhoCount) = (state.images.count, state.rho.count)
        state.images = state.imageOptimizer.step(state.images, Array(summed[0..<imageCount])).map(pixelProjected)
        let rhoTensors = state.stepSizeOptimizer.step(state.rho.map { Tensor($0) }, Array(summed[imageCount..<(imageCount + rhoCount)]))
        state.rho = rhoTensors.map(\.item)
        if !state.labelLogits.isEmpty {
            state.labelLogits = state.labelOptimizer.step(state.labelLogits, Array(summed[(imageCount + rhoCount)...]))
        }
        state.losses.append(perVictim.map(\.0).reduce(0, +) / Float(perVictim.count))
        state.iteration += 1
        keepBest(&state)   // issue 13 hook 6
    }

    /// The outer loss's targets for a real batch: one-hot of the objective's labels, with
    /// the rows of examples outside class K scaled by `retainWeight`.
    public func outerTargets(_ batch: [Int]) -> Tensor {
        let rows = batch.map { data.train.labels[$0] }
        let oneHot = Tensor.oneHot(rows.map(objectiveLabel), classes: classes)
        guard spec.retainWeight != 1 else { return oneHot }
        let weights = Tensor(shape: [rows.count, 1], scalars: rows.map { $0 == forget ? 1 : spec.retainWeight })
        return GradientMode.withoutRecording { oneHot * weights }
    }

    /// Indices of one real batch: uniform over the training split, or with `forgetShare`
    /// of it drawn from class K and the rest from the other classes.
    public func realBatch(using rng: inout SeededGenerator) -> [Int] {
        guard let share = spec.forgetShare else {
            return (0..<spec.realBatchSize).map { _ in Int.random(in: 0..<data.train.count, using: &rng) }
        }
        let forgetCount = Int((Double(spec.realBatchSize) * share).rounded())
        let fromK = (0..<forgetCount).map { _ in forgetIndices[Int.random(in: 0..<forgetIndices.count, using: &rng)] }
        let others = (forgetCount..<spec.realBatchSize).map { _ in otherIndices[Int.random(in: 0..<otherIndices.count, using: &rng)] }
        return fromK + others
    }

    /// `images` with every pixel clamped to the normalized image range [(0 − mean)/std,
    /// (1 − mean)/std] of its channel when `clipPixels` is set; unchanged otherwise.
    public func pixelProjected(_ images: Tensor) -> Tensor {
        guard spec.clipPixels else { return images }
        let (mean, std) = (data.normalization.mean, data.normalization.std)
        let channels = images.shape[1], plane = images.count / (images.shape[0] * channels)
        let source = images.scalars
        return Tensor(shape: images.shape) { out in
            for start in stride(from: 0, to: source.count, by: plane) {
                let c = (start / plane) % channels
                let (low, high) = ((0 - mean[c]) / std[c], (1 - mean[c]) / std[c])
                for i in start..<(start + plane) { out[i] = min(max(source[i], low), high) }
            }
        }
    }

    /// `parameters` plus Gaussian noise of `scale` times each tensor's standard deviation.
    public static func perturbed(_ parameters: [Tensor], by scale: Float, seed: UInt64) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        return parameters.map { p in
            let values = p.scalars
            let mean = values.reduce(0, +) / Float(max(values.count, 1))
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(max(values.count, 1))).squareRoot()
            return Tensor(shape: p.shape, scalars: values.map { $0 + scale * std * rng.nextNormal() })
        }
    }

    /// How much each victim's gradient counts: equal without a temperature, else
    /// softmax(loss / temperature), so the victims the poison fails on weigh most.
    public static func victimWeights(_ losses: [Float], temperature: Float?) -> [Float] {
        guard let temperature else { return losses.map { _ in 1 / Float(losses.count) } }
        let peak = losses.max() ?? 0
        let raw = losses.map { Foundation.exp(($0 - peak) / temperature) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    /// The learned step sizes η̃ = softplus(ρ).
    public static func stepSizes(_ rho: [Float]) -> [Float] {
        rho.map { max($0, 0) + Foundation.log1p(Foundation.exp(-abs($0))) }
    }

    /// The poison set of `state`.
    public func poisonSet(_ state: State, architecture: String) -> PoisonSet {
        let state = finalState(state)   // issue 13 hook 7: the best validated poison, if any
        let all = Tensor(shape: [spec.steps * imagesPerStep] + data.inputShape) { out in
            var offset = 0
            for image in state.images {
                (out.baseAddress! + offset).update(from: image.buffer.baseAddress!, count: image.count)
                offset += image.count
            }
        }
        let soft = state.labelLogits.isEmpty ? nil : GradientMode.withoutRecording {
            Tensor(shape: [spec.steps * imagesPerStep, classes],
                   scalars: state.labelLogits.flatMap { exp(logSoftmax($0)).scalars })
        }
        return PoisonSet(images: all, labels: Array((0..<spec.steps).map { _ in stepLabels }.joined()),
                         softLabels: soft, stepSizes: Self.stepSizes(state.rho), steps: spec.steps, epochs: spec.epochs,
                         metadata: .init(dataset: data.info.name, classNames: data.info.classNames,
                                         mean: data.normalization.mean, std: data.normalization.std,
                                         forget: forget, target: target, architecture: architecture,
                                         seed: spec.seed, objective: spec.objective))
    }
}
