import Autodiff
import Datasets
import Networks
import Specs

/// How a spec names its method (`method:`). A new method is a new file in `Methods/`
/// conforming to `DistillationMethod`, its case here and its line in `makeMethod`.
public enum MethodKind: String, SpecChoice, Sendable {
    /// The seeds' Algorithm 1: unrolled, differentiated inner gradient steps.
    case unrolledSteps = "unrolled-steps"
    /// Kernel inducing points: kernel ridge regression from the poison to real batches.
    case kip
    /// Gradient matching (DC, optionally with DSA): `Methods/GradientMatching.swift`.
    case gradientMatching = "gradient-matching"
    /// Distribution matching (DM): `Methods/DistributionMatching.swift`.
    case distributionMatching = "distribution-matching"
    /// Neural characteristic function matching: per-class embedding CFs under a learned,
    /// adversarial frequency sampler.
    case ncfm
    /// Trajectory matching: unrolled steps on the poison reach a victim fine-tuned on K→T data.
    case trajectoryMatching = "trajectory-matching"
    /// MTT's distillation form: synthetic steps from an expert's epoch e reach its epoch
    /// e + M (`Methods/ExpertTrajectories.swift`).
    case expertTrajectories = "expert-trajectories"
}

extension AttackSpec {
    /// The method this spec crafts with, over `context`.
    public func makeMethod(_ context: CraftingContext) -> any DistillationMethod {
        switch method {
        case .unrolledSteps: UnrolledSteps(spec: self, context: context)
        case .kip: KernelInducingPoints(spec: self, context: context)
        case .gradientMatching: GradientMatching(spec: self, context: context)
        case .distributionMatching: DistributionMatching(spec: self, context: context)
        case .ncfm: NeuralCharacteristicFunction(spec: self, context: context)
        case .trajectoryMatching: TrajectoryMatching(spec: self, context: context)
        case .expertTrajectories: ExpertTrajectories(spec: self, context: context)
        }
    }

    /// What this spec's method and controls craft with: the objective resolved against the
    /// data, and the metadata every poison of the run records.
    public func craftingContext(classifier: any Classifier, data: PreparedData, victims: [[Tensor]], forget: Int,
                                target: Int, architecture: String) -> CraftingContext {
        CraftingContext(classifier: classifier, data: data, victims: victims,
                        objective: makeObjective(forget: forget, target: target, train: data.train),
                        metadata: .init(dataset: data.info.name, classNames: data.info.classNames,
                                        mean: data.normalization.mean, std: data.normalization.std,
                                        forget: forget, target: target, architecture: architecture,
                                        seed: seed, objective: objective.rawValue))
    }

    /// The objective this spec asks for, with classes resolved against the data.
    public func makeObjective(forget: Int, target: Int, train: LabeledImages) -> any Objective {
        switch objective {
        case .forget: ForgetObjective(forget: forget, target: target, forgetShare: forgetShare,
                                      retainWeight: retainWeight, train: train)
        case .standard: StandardObjective(train: train)
        }
    }
}

extension OuterOptimizer {
    /// Adam at `rate` with this optimizer's betas.
    public func adam(_ rate: Float) -> Adam { Adam(learningRate: rate, beta1: beta1, beta2: beta2) }
}

extension AttackSpec {
    /// The generator of outer iteration `iteration`'s randomness, seeded by (seed,
    /// iteration) so that a resumed run repeats exactly.
    public func iterationGenerator(_ iteration: Int) -> SeededGenerator {
        SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(iteration) &+ 1)
    }

    /// The victims (indices into `pool`'s values) an iteration uses: the first
    /// `victims_per_iteration` with fixed knowledge or when the pool is no larger, else a
    /// random draw without replacement.
    public func sampledVictims(_ pool: [Int], using rng: inout SeededGenerator) -> [Int] {
        knowledge == .fixed || pool.count <= victimsPerIteration
            ? Array(pool.prefix(victimsPerIteration))
            : Array(pool.shuffled(using: &rng).prefix(victimsPerIteration))
    }
}

extension CraftingContext {
    /// One real batch drawn by the objective: training indices and the outer loss's targets.
    public func realBatch(size: Int, using rng: inout SeededGenerator) -> (indices: [Int], wanted: Tensor) {
        let batch = objective.realBatch(size: size, using: &rng)
        return (batch, objective.outerTargets(batch))
    }
}
