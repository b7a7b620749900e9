import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Poisoning

/// KIP (Nguyen, Chen, Lee, "Dataset Meta-Learning from Kernel Ridge-Regression", ICLR 2021):
/// learn support images X_s and labels Y_s such that kernel ridge regression from them
/// predicts the objective's labels on real batches,
///     loss = ‖K_ts (K_ss + λ̄I)⁻¹ Y_s − Y_t‖² / 2m,
/// with Adam on X_s (and on Y_s with `learn_labels`, or Y_s solved in closed form each
/// iteration with `kip.label_solve`). Y_t is the objective's targets as they are (one-hot,
/// not centered), so the forget objective's K→T relabelling and `retain_weight` apply as
/// for every method.
///
/// The kernel is the empirical random-feature kernel of the networks sampled each
/// iteration (KernelRegression.swift): on an untrained zoo an NNGP-style kernel of random
/// initializations, on a trained zoo the victims' own feature kernel. Chosen over the
/// empirical NTK because it costs one forward pass per network, where the NTK of a LeNet
/// needs a Jacobian over its 60k parameters per image.
///
/// The poison is one step repeated `epochs` times, the learned labels as soft labels
/// softmax(β·Y_s) (β puts 0.9 on a one-hot row's class, where learned labels start), and a
/// step size fitted on the crafting victims (`StepSizeScorer`): kernel regression learns
/// none.
public struct KernelInducingPoints: DistillationMethod {
    public let spec: AttackSpec
    public let context: CraftingContext

    public struct State: MethodState {
        /// The support images [M, C, H, W].
        public var images: Tensor
        /// The support labels [M, classes] (regression targets, one-hot at the start).
        public var labels: Tensor
        public var imageOptimizer: Adam
        public var labelOptimizer: Adam
        public var iteration: Int
        public var losses: [Float]

        public var lastLoss: Float? { losses.last }
        public var currentStepSizes: [Float] { [] }
    }

    public init(spec: AttackSpec, context: CraftingContext) {
        (self.spec, self.context) = (spec, context)
    }

    public var iterations: Int { spec.iterations }
    var options: KIPOptions { spec.kip ?? KIPOptions() }
    /// The seeds' method gives the start (images and block labels) and the pixel projection.
    var seedsMethod: UnrolledSteps { UnrolledSteps(spec: spec, context: context) }

    public func initialState() -> State {
        let start = seedsMethod
        let o = spec.optimizer
        return State(images: start.initialState().images[0], labels: .oneHot(start.stepLabels, classes: context.classes),
                     imageOptimizer: o.adam(o.learningRate),
                     labelOptimizer: o.adam(o.labelLearningRate),
                     iteration: 0, losses: [])
    }

    /// One Adam step on the kernel regression loss over a fresh real batch and fresh
    /// kernel networks, both drawn from (seed, iteration).
    public func iterate(_ state: inout State, workers: Int = 2) {
        var rng = spec.iterationGenerator(state.iteration)
        let (batch, wanted) = context.realBatch(size: spec.realBatchSize, using: &rng)
        let networks = spec.sampledVictims(Array(context.victims.indices), using: &rng).map { context.victims[$0] }
        let classifier = context.classifier
        let targets = GradientMode.withoutRecording {
            KernelRegression.features(classifier, context.data.train.batch(batch), networks: networks)
        }
        let images = state.images.requiringGradient()
        let support = KernelRegression.features(classifier, images, networks: networks)
        if options.labelSolve {
            state.labels = KernelRegression.solvedLabels(support: support.detached(), targets: targets, wanted: wanted,
                                                         regularization: options.regularization)
        }
        let labels = state.labels.requiringGradient()
        let loss = KernelRegression.loss(support: support, targets: targets, labels: labels, wanted: wanted,
                                         regularization: options.regularization)
        let grads = gradients(of: loss, wrt: [images, labels])
        let factor = spec.optimizer.decayFactor(at: state.iteration)
        state.imageOptimizer.learningRate = spec.optimizer.learningRate * factor
        state.labelOptimizer.learningRate = spec.optimizer.labelLearningRate * factor
        state.images = seedsMethod.pixelProjected(state.imageOptimizer.step([state.images], [grads[0]])[0])
        if spec.learnLabels {
            state.labels = state.labelOptimizer.step([state.labels], [grads[1]])[0]
        }
        state.losses.append(loss.item)
        state.iteration += 1
    }

    /// Logit scale of the soft labels: softmax(β·onehot) puts 0.9 on the class.
    var labelSharpness: Float { Foundation.log(0.9 * Float(context.classes - 1) / 0.1) }

    /// The soft labels the poison carries (nil when the labels are the fixed one-hot ones).
    func softLabels(_ state: State) -> Tensor? {
        guard spec.learnLabels || options.labelSolve else { return nil }
        return GradientMode.withoutRecording { exp(logSoftmax(state.labels * labelSharpness)) }
    }

    public func poisonSet(_ state: State) -> PoisonSet {
        context.fittedPoison(images: state.images, labels: seedsMethod.stepLabels, softLabels: softLabels(state),
                             epochs: spec.epochs, seed: spec.seed)
    }
}

extension KernelInducingPoints.State {
    public func save(into file: inout SafeTensors) throws {
        file.metadata["image_adam_steps"] = String(imageOptimizer.state.steps)
        file.metadata["label_adam_steps"] = String(labelOptimizer.state.steps)
        try Checkpoint.add([images], imageOptimizer.state, prefix: "images", to: &file)
        try Checkpoint.add([labels], labelOptimizer.state, prefix: "labels", to: &file)
        try file.add(name: "losses", floats: losses, shape: [losses.count])
    }

    public mutating func restore(from file: SafeTensors, source: String) throws {
        func count(_ key: String) throws -> Int { try Checkpoint.count(key, in: file, source: source) }
        var imageList = [images], labelList = [labels]
        try Checkpoint.restore(&imageList, &imageOptimizer, prefix: "images", steps: count("image_adam_steps"), from: file)
        try Checkpoint.restore(&labelList, &labelOptimizer, prefix: "labels", steps: count("label_adam_steps"), from: file)
        (images, labels) = (imageList[0], labelList[0])
        (losses, iteration) = try Checkpoint.history(in: file, source: source)
    }
}
