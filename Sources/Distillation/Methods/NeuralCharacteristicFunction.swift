import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Poisoning

/// NCFM (Wang et al., "Dataset Distillation with Neural Characteristic Function: A Minmax
/// Perspective", CVPR 2025): learn images whose class-wise embedding distributions match
/// the real ones in characteristic function, at frequencies chosen adversarially:
///     min over images  max over sampler  Σ_networks CFD(f(real), f(images); t ~ sampler)
/// (CharacteristicFunction.swift). f is `Classifier.features`, the penultimate embedding,
/// under the `victims_per_iteration` networks sampled each iteration (random
/// initializations in the distillation setting, trained victims in an attack).
///
/// Schedule, alternating within each iteration on one real batch, one set of networks and
/// one Gaussian draw z [J, D]: first one Adam step of the sampler UP the discrepancy (the
/// synthetic embeddings held fixed), then one Adam step of the images DOWN the discrepancy
/// at the updated sampler's frequencies.
///
/// Classes are the objective's: a real image belongs to the class of its outer target (so
/// with the forget objective class-K images count as class T, weighted by `retain_weight`
/// as in the outer loss), a synthetic image to its block's label. Classes absent on either
/// side are left out. The attack form is thus "the poison's label-c images must be
/// distributed in embedding space like the real images the K→T objective labels c": with
/// `initial_images: relabelled` the K block is labelled T and, with the T block, is
/// matched to the mixture of real T and real K images.
///
/// NCFM learns no step size: the poison's one step (repeated `epochs` times) takes the one
/// fitted on the crafting victims (`StepSizeScorer`), as for KIP.
public struct NeuralCharacteristicFunction: DistillationMethod {
    public let spec: AttackSpec
    public let context: CraftingContext

    public struct State: MethodState {
        /// The synthetic images [M, C, H, W].
        public var images: Tensor
        public var sampler: FrequencySampler
        public var imageOptimizer: Adam
        public var samplerOptimizer: Adam
        public var iteration: Int
        /// The discrepancy the images descended, per iteration.
        public var losses: [Float]

        public var lastLoss: Float? { losses.last }
        public var currentStepSizes: [Float] { [] }
    }

    public init(spec: AttackSpec, context: CraftingContext) {
        (self.spec, self.context) = (spec, context)
    }

    public var iterations: Int { spec.iterations }
    var options: NCFMOptions { spec.ncfm ?? NCFMOptions() }
    /// The seeds' method gives the start (images and block labels) and the pixel projection.
    var seedsMethod: UnrolledSteps { UnrolledSteps(spec: spec, context: context) }

    /// The embedding's width D, read off one image under the first victim.
    var embeddingWidth: Int {
        GradientMode.withoutRecording { context.classifier.features(context.data.train.batch([0]), context.victims[0]).shape[1] }
    }

    public func initialState() -> State {
        let o = spec.optimizer
        return State(images: seedsMethod.initialState().images[0],
                     sampler: FrequencySampler(dimensions: embeddingWidth, scale: options.frequencyScale),
                     imageOptimizer: o.adam(o.learningRate), samplerOptimizer: o.adam(options.samplerLearningRate),
                     iteration: 0, losses: [])
    }

    /// One sampler ascent step then one image descent step, on a real batch, networks and
    /// frequency draw that all come from (seed, iteration).
    public func iterate(_ state: inout State, workers: Int = 2) {
        var rng = spec.iterationGenerator(state.iteration)
        let (batch, wanted) = context.realBatch(size: spec.realBatchSize, using: &rng)
        let networks = spec.sampledVictims(Array(context.victims.indices), using: &rng).map { context.victims[$0] }
        let noise = Tensor.randomNormal([options.frequencies, embeddingWidth], using: &rng)
        let classifier = context.classifier, options = options
        let realImages = context.data.train.batch(batch)
        let real = GradientMode.withoutRecording { networks.map { classifier.features(realImages, $0) } }
        let images = state.images.requiringGradient()
        let synthetic = networks.map { classifier.features(images, $0) }
        let (realWeights, realClasses) = CharacteristicFunction.classWeights(wanted)
        let (syntheticWeights, syntheticClasses) = CharacteristicFunction.classWeights(.oneHot(seedsMethod.stepLabels,
                                                                                               classes: context.classes))
        let matched = zip(realClasses, syntheticClasses).map { $0 && $1 }
        func discrepancy(_ embeddings: [Tensor], _ frequencies: Tensor) -> Tensor {
            zip(real, embeddings).map { r, s in
                CharacteristicFunction.discrepancy(real: r, realWeights: realWeights, synthetic: s, syntheticWeights: syntheticWeights,
                                                   classes: matched, frequencies: frequencies,
                                                   amplitudeWeight: options.amplitudeWeight, phaseWeight: options.phaseWeight)
            }.reduce(Tensor(0), +) * (1 / Float(networks.count))
        }
        let held = synthetic.map { $0.detached() }
        state.sampler.ascend(&state.samplerOptimizer, noise: noise) { discrepancy(held, $0) }
        let loss = discrepancy(synthetic, state.sampler.frequencies(noise).detached())
        let grad = gradients(of: loss, wrt: [images])[0]
        state.imageOptimizer.learningRate = spec.optimizer.learningRate * spec.optimizer.decayFactor(at: state.iteration)
        state.images = seedsMethod.pixelProjected(state.imageOptimizer.step([state.images], [grad])[0])
        state.losses.append(loss.item)
        state.iteration += 1
    }

    public func poisonSet(_ state: State) -> PoisonSet {
        context.fittedPoison(images: state.images, labels: seedsMethod.stepLabels, softLabels: nil, epochs: spec.epochs, seed: spec.seed)
    }
}

extension NeuralCharacteristicFunction.State {
    public func save(into file: inout SafeTensors) throws {
        file.metadata["image_adam_steps"] = String(imageOptimizer.state.steps)
        file.metadata["sampler_adam_steps"] = String(samplerOptimizer.state.steps)
        try Checkpoint.add([images], imageOptimizer.state, prefix: "images", to: &file)
        try Checkpoint.add(sampler.parameters, samplerOptimizer.state, prefix: "sampler", to: &file)
        try file.add(name: "losses", floats: losses, shape: [losses.count])
    }

    public mutating func restore(from file: SafeTensors, source: String) throws {
        func count(_ key: String) throws -> Int { try Checkpoint.count(key, in: file, source: source) }
        var imageList = [images], samplerList = sampler.parameters
        try Checkpoint.restore(&imageList, &imageOptimizer, prefix: "images", steps: count("image_adam_steps"), from: file)
        try Checkpoint.restore(&samplerList, &samplerOptimizer, prefix: "sampler", steps: count("sampler_adam_steps"), from: file)
        images = imageList[0]
        (sampler.shift, sampler.logScale) = (samplerList[0], samplerList[1])
        (losses, iteration) = try Checkpoint.history(in: file, source: source)
    }
}
