import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Poisoning

/// The seeds' Algorithm 1: learn images x̃ (fixed labels, or learned soft labels) and step
/// sizes η̃ = softplus(ρ) such that one (or a few) gradient steps on them, from victims
/// sampled from the crafting zoo, minimize the objective's loss on real data. The inner
/// steps stay in the graph, so the outer gradient is second order.
public struct UnrolledSteps: DistillationMethod {
    public let spec: AttackSpec
    public let context: CraftingContext

    /// Where the optimization is: everything a checkpoint must hold.
    public struct State: MethodState {
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
        public var iteration: Int
        /// Outer loss of each completed iteration.
        public var losses: [Float]

        public var lastLoss: Float? { losses.last }
        public var currentStepSizes: [Float] { UnrolledSteps.stepSizes(rho) }
        /// HOOK (issue 13): the best poison on the validation split (`robustness.validation_victims`),
        /// checkpointed with the rest so a resumed run still ends with it.
        public var best: BestPoison? = nil
    }

    public init(spec: AttackSpec, context: CraftingContext) {
        (self.spec, self.context) = (spec, context)
    }

    public var iterations: Int { spec.iterations }
    var classes: Int { context.classes }
    var data: PreparedData { context.data }
    var classifier: any Classifier { context.classifier }
    var victims: [[Tensor]] { context.victims }
    var forget: Int { context.metadata.forget }
    var target: Int { context.metadata.target }
    /// Images per step: `imagesPerClass` for every class, in class order.
    public var imagesPerStep: Int { spec.imagesPerClass * classes }
    /// The fixed labels of one step (the learned ones' start): block c is labelled c, or
    /// as the objective wants class c when the images start `relabelled`.
    public var stepLabels: [Int] {
        (0..<classes).flatMap { c in
            [Int](repeating: spec.initialImages == .relabelled ? context.objective.wantedLabel(c) : c, count: spec.imagesPerClass)
        }
    }

    /// The starting images (`initial_images`: noise, or real images of each block's class,
    /// a fresh draw per step), their labels (see `stepLabels`) and the initial step size.
    public func initialState() -> State {
        var rng = SeededGenerator(seed: spec.seed)
        let images = (0..<spec.steps).map { s in
            switch spec.initialImages {
            case .noise: pixelProjected(Tensor.randomNormal([imagesPerStep] + context.data.inputShape, using: &rng))
            case .real, .relabelled: RandomRealImages(context: context, perClass: spec.imagesPerClass, seed: spec.seed &+ UInt64(s)).images().images
            }
        }
        let rho = Foundation.log(Foundation.expm1(spec.initialStepSize))
        // Logits that put 0.9 on the block's class: log(0.9 / (0.1 / (classes − 1))).
        let confident = Foundation.log(0.9 * Float(classes - 1) / 0.1)
        let logits = spec.learnLabels ? (0..<spec.steps).map { _ in Tensor.oneHot(stepLabels, classes: classes) * confident } : []
        let o = spec.optimizer
        return State(images: images, rho: [Float](repeating: rho, count: spec.steps * spec.epochs), labelLogits: logits,
                     imageOptimizer: o.adam(o.learningRate),
                     stepSizeOptimizer: o.adam(o.stepSizeLearningRate),
                     labelOptimizer: o.adam(o.labelLearningRate),
                     iteration: 0, losses: [])
    }

    /// One outer iteration. Its randomness (real batch, sampled victims) is drawn from a
    /// generator seeded by (seed, iteration), so a resumed run repeats exactly.
    public func iterate(_ state: inout State, workers: Int = 2) {
        var rng = spec.iterationGenerator(state.iteration)
        let (batch, wanted) = context.realBatch(size: spec.realBatchSize, using: &rng)
        let real = context.data.train.batch(batch)
        let chosen = spec.sampledVictims(samplingPool, using: &rng)   // issue 13 hook 5: all but the validation split

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
            // Issue 14 hook 8 (DefendedSteps.swift): the update a victim deploying the spec's
            // defenses takes; the plain unrolled update without them.
            let (theta, penalty) = defendedUnroll(start, steps: steps, stepSizes: etas, seed: noiseSeed, real: real,
                                                  batchLabels: batchLabels)
            let before = !spec.robustness.needsPreStepLogits ? nil : GradientMode.withoutRecording { classifier.logits(real, start) }
            let outer = outerLoss(classifier.logits(real, theta), wanted: wanted, batchLabels: batchLabels, before: before)
            let loss = penalty.map { outer + $0 } ?? outer
            return (loss.item, gradients(of: loss, wrt: imageLeaves + rhoLeaves + labelLeaves))
        }
        let weights = combinedVictimWeights(perVictim.map(\.0))   // issue 13 hook 4
        let summed = GradientMode.withoutRecording {
            perVictim.indices.dropFirst().reduce(perVictim[0].1.map { $0 * weights[0] }) { total, v in
                zip(total, perVictim[v].1).map { $0 + $1 * weights[v] }
            }
        }
        let factor = spec.optimizer.decayFactor(at: state.iteration)
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

    /// `images` with every pixel clamped to the normalized image range [(0 − mean)/std,
    /// (1 − mean)/std] of its channel when `clipPixels` is set; unchanged otherwise.
    public func pixelProjected(_ images: Tensor) -> Tensor {
        guard spec.clipPixels else { return images }
        return context.data.normalization.clampedToPixelRange(images)
    }

    /// The learned step sizes η̃ = softplus(ρ).
    public static func stepSizes(_ rho: [Float]) -> [Float] {
        GradientMode.withoutRecording { softplus(Tensor(shape: [rho.count], scalars: rho)).scalars }
    }

    /// The poison set of `state`.
    public func poisonSet(_ state: State) -> PoisonSet {
        let state = finalState(state)   // issue 13 hook 7: the best validated poison, if any
        let soft = state.labelLogits.isEmpty ? nil : GradientMode.withoutRecording {
            Tensor(shape: [spec.steps * imagesPerStep, classes],
                   scalars: state.labelLogits.flatMap { exp(logSoftmax($0)).scalars })
        }
        let all = Tensor(shape: [spec.steps * imagesPerStep] + context.data.inputShape) { out in
            var offset = 0
            for image in state.images {
                (out.baseAddress! + offset).update(from: image.buffer.baseAddress!, count: image.count)
                offset += image.count
            }
        }
        return PoisonSet(images: all, labels: Array((0..<spec.steps).map { _ in stepLabels }.joined()),
                         softLabels: soft, stepSizes: Self.stepSizes(state.rho), steps: spec.steps, epochs: spec.epochs,
                         metadata: context.metadata)
    }
}

extension UnrolledSteps.State {
    public func save(into file: inout SafeTensors) throws {
        file.metadata["image_adam_steps"] = String(imageOptimizer.state.steps)
        file.metadata["step_adam_steps"] = String(stepSizeOptimizer.state.steps)
        file.metadata["label_adam_steps"] = String(labelOptimizer.state.steps)
        try Checkpoint.add(images, imageOptimizer.state, prefix: "images", to: &file)
        try Checkpoint.add(labelLogits, labelOptimizer.state, prefix: "label_logits", to: &file)
        try Checkpoint.add(rho.map { Tensor($0) }, stepSizeOptimizer.state, prefix: "rho", to: &file)
        try file.add(name: "losses", floats: losses, shape: [losses.count])
        if let best {
            file.metadata["best_score"] = String(best.score)
            file.metadata["best_iteration"] = String(best.iteration)
            for (i, image) in best.images.enumerated() { try file.add(name: "best.images.\(i)", floats: image.scalars, shape: image.shape) }
            for (i, logits) in best.labelLogits.enumerated() {
                try file.add(name: "best.label_logits.\(i)", floats: logits.scalars, shape: logits.shape)
            }
            try file.add(name: "best.rho", floats: best.rho, shape: [best.rho.count])
        }
    }

    public mutating func restore(from file: SafeTensors, source: String) throws {
        func count(_ key: String) throws -> Int { try Checkpoint.count(key, in: file, source: source) }
        try Checkpoint.restore(&images, &imageOptimizer, prefix: "images", steps: count("image_adam_steps"), from: file)
        try Checkpoint.restore(&labelLogits, &labelOptimizer, prefix: "label_logits", steps: count("label_adam_steps"), from: file)
        var rhoTensors = rho.map { Tensor($0) }
        try Checkpoint.restore(&rhoTensors, &stepSizeOptimizer, prefix: "rho", steps: count("step_adam_steps"), from: file)
        rho = rhoTensors.map(\.item)
        (losses, iteration) = try Checkpoint.history(in: file, source: source)
        best = try Self.restoreBest(shapedLike: self, from: file, source: source)
    }

    /// The best validated poison a checkpoint holds (nil when it has none), its tensors
    /// shaped like `state`'s.
    private static func restoreBest(shapedLike state: Self, from file: SafeTensors, source: String) throws -> BestPoison? {
        guard let scoreText = file.metadata["best_score"] else { return nil }
        guard let score = Float(scoreText) else { throw PoisonError("\(source): metadata 'best_score' is not a number (\(scoreText))") }
        func shaped(_ tensors: [Tensor], _ prefix: String) throws -> [Tensor] {
            try tensors.indices.map { try Checkpoint.tensor("\(prefix).\($0)", shape: tensors[$0].shape, in: file) }
        }
        let rho = try file.floats("best.rho")
        guard rho.count == state.rho.count else { throw PoisonError("\(source): best.rho has \(rho.count) values, expected \(state.rho.count)") }
        return BestPoison(score: score, iteration: try Checkpoint.count("best_iteration", in: file, source: source),
                          images: try shaped(state.images, "best.images"), rho: rho,
                          labelLogits: try shaped(state.labelLogits, "best.label_logits"))
    }
}
