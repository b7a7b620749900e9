import Autodiff
import Datasets
import Networks
import Specs

/// How a spec names its method (`method:`). A new method is a new file in `Methods/`
/// conforming to `DistillationMethod`, its case here and its line in `makeMethod`.
public enum MethodKind: String, SpecChoice, Sendable {
    /// The seeds' Algorithm 1: unrolled, differentiated inner gradient steps.
    case unrolledSteps = "unrolled-steps"
    /// Gradient matching (DC, optionally with DSA): `Methods/GradientMatching.swift`.
    case gradientMatching = "gradient-matching"
    /// Distribution matching (DM): `Methods/DistributionMatching.swift`.
    case distributionMatching = "distribution-matching"
}

extension AttackSpec {
    /// The method this spec crafts with, over `context`.
    public func makeMethod(_ context: CraftingContext) -> any DistillationMethod {
        switch method {
        case .unrolledSteps: UnrolledSteps(spec: self, context: context)
        case .gradientMatching: GradientMatching(spec: self, context: context)
        case .distributionMatching: DistributionMatching(spec: self, context: context)
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
