import Foundation
import Poisoning
import Specs
import Victims
import Vocabulary

/// The outer optimizer of the poison (Adam on the images and step sizes).
public struct OuterOptimizer: Codable, Sendable, Equatable, StrictlyDecodable {
    public var learningRate: Float = 0.01
    public var stepSizeLearningRate: Float = 0.01
    /// For learned labels (`learn_labels`): the Adam rate of their logits.
    public var labelLearningRate: Float = 0.01
    public var beta1: Float = 0.5
    public var beta2: Float = 0.999
    /// Multiply the learning rates by `decay` every `decayEvery` iterations.
    public var decayEvery: Int = 400
    public var decay: Float = 0.5

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case learningRate = "learning_rate", stepSizeLearningRate = "step_size_learning_rate"
        case labelLearningRate = "label_learning_rate", beta1, beta2
        case decayEvery = "decay_every", decay
    }

    public init() {}

    /// decay^⌊iteration / decayEvery⌋: the factor on every learning rate at `iteration`.
    public func decayFactor(at iteration: Int) -> Float { Foundation.pow(decay, Float(iteration / decayEvery)) }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = OuterOptimizer()
        o.learningRate = try c.value(.learningRate, or: o.learningRate)
        o.stepSizeLearningRate = try c.value(.stepSizeLearningRate, or: o.stepSizeLearningRate)
        o.labelLearningRate = try c.value(.labelLearningRate, or: o.labelLearningRate)
        o.beta1 = try c.value(.beta1, or: o.beta1)
        o.beta2 = try c.value(.beta2, or: o.beta2)
        o.decayEvery = try c.value(.decayEvery, or: o.decayEvery)
        o.decay = try c.value(.decay, or: o.decay)
        self = o
    }

    /// The first invalid value, named by its key: rates zero or positive and finite, Adam's betas
    /// in [0, 1) (at 1 its moment estimates never move and the bias correction divides by
    /// zero), the decay positive.
    var problem: String? {
        for (key, rate) in [("learning_rate", learningRate), ("step_size_learning_rate", stepSizeLearningRate),
                            ("label_learning_rate", labelLearningRate)] where !(rate >= 0 && rate.isFinite) {
            return "optimizer.\(key) must be zero or positive and finite (got \(rate))"
        }
        for (key, beta) in [("beta1", beta1), ("beta2", beta2)] where !(0..<1).contains(beta) {
            return "optimizer.\(key) must be in [0, 1) (got \(beta))"
        }
        if decayEvery < 1 { return "optimizer.decay_every must be at least 1 (got \(decayEvery))" }
        if !(decay > 0 && decay.isFinite) { return "optimizer.decay must be positive and finite (got \(decay))" }
        return nil
    }
}

/// The largest values an attack spec may ask for: each far above what an attack needs and
/// below where memory or time would run out before the first iteration finishes.
public enum AttackLimits {
    public static let imagesPerClass = 1_000
    public static let realBatchSize = 10_000
    public static let victimsPerIteration = 1_000
    /// NCFM frequencies per iteration: each is a row of a [J, embedding] matrix per victim.
    public static let frequencies = 65_536
    /// Pixels an augmentation may shift an image by (images are at most a few hundred wide).
    public static let augmentShift = 64
}

/// Where crafting starts (`initial_images:`).
public enum InitialImages: String, SpecChoice, Sendable {
    /// Standard normal noise in normalized space, as the seeds' paper.
    case noise
    /// Random real training images, each block from its own class: the optimization then
    /// starts from images every victim sees alike, not from patterns each one reads
    /// differently.
    case real
    /// As `real`, with each block labelled as the objective wants its class (class K as T):
    /// the label-flipping poison is the starting point. Every victim predicts K on those
    /// images, so every victim's gradient on them is large, not only the ones that happen
    /// to disagree with the poison's labels.
    case relabelled
}

/// An attack: forget class K (predict it as T) after a gradient step on crafted data.
/// Classes may be given by index or by name; `resolved(classNames:)` turns them into indices.
public struct AttackSpec: Codable, Sendable, Equatable, StrictlyDecodable {
    public var name: String
    /// The victim zoo: a name under the victims folder.
    public var zoo: String
    /// The zoo's spec, used to train the zoo when it does not exist yet.
    public var zooSpec: String?
    /// A zoo spec whose held-out victims were trained with recipes the crafting zoo never
    /// used: every report scores the poison on them too (trained first if missing).
    public var foreignZooSpec: String?
    /// The class to forget (index or name).
    public var forget: String
    /// The class it should be predicted as (index or name).
    public var target: String
    public var knowledge: Knowledge = .distribution
    /// With `fixed` knowledge: the known victim's id (default: the first crafting victim).
    public var fixedVictim: String?
    /// Synthetic images per class per step (M = this × classes per step).
    public var imagesPerClass: Int = 10
    /// What the synthetic images start from: Gaussian noise (the seeds' choice) or random
    /// real training images of each block's class.
    public var initialImages: InitialImages = .noise
    public var steps: Int = 1
    public var epochs: Int = 1
    /// The step size the learned one starts from (it is learned as softplus(ρ)).
    public var initialStepSize: Float = 0.02
    public var iterations: Int = 1000
    /// Victims sampled from the crafting zoo per iteration (distribution knowledge).
    public var victimsPerIteration: Int = 4
    public var realBatchSize: Int = 256
    public var optimizer = OuterOptimizer()
    /// What produces the poison: the seeds' unrolled steps by default.
    public var method: MethodKind = .unrolledSteps
    /// `forget` (K→T, the attack) or `standard` (plain distillation, labels unchanged).
    public var objective: ObjectiveKind = .forget
    /// Share of each real batch drawn from class K (see `ForgetObjective.forgetShare`).
    public var forgetShare: Double?
    /// Learn soft labels for the synthetic images (softmax of learned logits, starting at
    /// 0.9 on the block's class) instead of keeping them one-hot.
    public var learnLabels: Bool = false
    /// Weight of the real examples whose class is not K in the outer loss (1: the plain
    /// mean): keeps the other classes' loss where it was, so strength does not come from
    /// wrecking the model.
    public var retainWeight: Float = 1
    /// Keep every synthetic pixel inside the image range [0, 1] (projected after each
    /// update, in normalized space): the poison is then a set of real images that
    /// survives being saved as 8-bit PNG, instead of unbounded arrays.
    public var clipPixels: Bool = false
    public var seed: UInt64 = 0
    /// Defenses the attacker expects the victims to deploy: the crafter optimizes through
    /// each (an adaptive attack, Methods/DefendedSteps.swift), and the evaluation scores the
    /// poison and its controls under each, beside the undefended update. Only the
    /// differentiable ones (filter, dp_sgd, step_cap, norm_cap, dilution) can be listed;
    /// `--defense` scores a poison under any defense without crafting against it.
    public var defenses: [DefenseSpec] = []
    /// Weight of the detection penalty in the outer loss when crafting through a loss
    /// filter (the hinge on poison losses above the clean quantile); 0 keeps only the
    /// filter's dropping inside the inner step.
    public var detectionPenalty: Float = 1
    /// HOOK (issue 13): the `robustness:` section, levers for held-out and foreign-recipe
    /// victims (see Robustness.swift); all off when absent.
    public var robustness = Robustness()
    /// Options of `method: kip` (KIPOptions.swift); defaults when absent.
    public var kip: KIPOptions?
    /// Options of method `gradient-matching` (defaults when absent).
    public var gradientMatching: GradientMatchingOptions?
    /// Options of method `distribution-matching` (defaults when absent).
    public var distributionMatching: DistributionMatchingOptions?
    /// Options of `method: ncfm` (NCFMOptions.swift); defaults when absent.
    public var ncfm: NCFMOptions?
    /// Options of `method: trajectory-matching` (TrajectoryOptions.swift); defaults when absent.
    public var trajectoryMatching: TrajectoryOptions?
    /// Options of `method: expert-trajectories` (ExpertTrajectoryOptions.swift); defaults when absent.
    public var expertTrajectories: ExpertTrajectoryOptions?
    /// How `amnesia distill` scores the set (nil: `steps`); it acts after crafting, so
    /// it is left out of the run's hash with its section.
    public var evaluation: DistillEvaluation?
    /// Options of `evaluation: published` (PublishedEvaluationOptions.swift); defaults when absent.
    public var publishedEvaluation: PublishedEvaluationOptions?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, zoo, zooSpec = "zoo_spec", foreignZooSpec = "foreign_zoo_spec", forget, target, knowledge, fixedVictim = "fixed_victim"
        case imagesPerClass = "images_per_class", initialImages = "initial_images", steps, epochs, initialStepSize = "initial_step_size"
        case iterations, victimsPerIteration = "victims_per_iteration", realBatchSize = "real_batch_size"
        case optimizer, method, objective, forgetShare = "forget_share", learnLabels = "learn_labels"
        case retainWeight = "retain_weight", clipPixels = "clip_pixels", seed, defenses
        case detectionPenalty = "detection_penalty", robustness, kip, ncfm
        case gradientMatching = "gradient_matching", distributionMatching = "distribution_matching"
        case trajectoryMatching = "trajectory_matching", expertTrajectories = "expert_trajectories"
        case evaluation, publishedEvaluation = "published_evaluation"
    }

    public init(name: String, zoo: String, forget: String, target: String) {
        (self.name, self.zoo, self.forget, self.target) = (name, zoo, forget, target)
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        zoo = try c.decode(String.self, forKey: .zoo)
        zooSpec = try c.decodeIfPresent(String.self, forKey: .zooSpec)
        foreignZooSpec = try c.decodeIfPresent(String.self, forKey: .foreignZooSpec)
        objective = try c.value(.objective, or: objective)
        // Plain distillation moves no class: K and T are then optional (class 0 when absent).
        let optionalClasses = objective == .standard
        forget = try Self.classField(c, .forget, optional: optionalClasses)
        target = try Self.classField(c, .target, optional: optionalClasses)
        knowledge = try c.value(.knowledge, or: knowledge)
        fixedVictim = try c.decodeIfPresent(String.self, forKey: .fixedVictim)
        imagesPerClass = try c.value(.imagesPerClass, or: imagesPerClass)
        initialImages = try c.value(.initialImages, or: initialImages)
        steps = try c.value(.steps, or: steps)
        epochs = try c.value(.epochs, or: epochs)
        initialStepSize = try c.value(.initialStepSize, or: initialStepSize)
        iterations = try c.value(.iterations, or: iterations)
        victimsPerIteration = try c.value(.victimsPerIteration, or: victimsPerIteration)
        realBatchSize = try c.value(.realBatchSize, or: realBatchSize)
        optimizer = try c.value(.optimizer, or: optimizer)
        method = try c.value(.method, or: method)
        forgetShare = try c.decodeIfPresent(Double.self, forKey: .forgetShare)
        learnLabels = try c.value(.learnLabels, or: learnLabels)
        retainWeight = try c.value(.retainWeight, or: retainWeight)
        clipPixels = try c.value(.clipPixels, or: clipPixels)
        seed = try c.value(.seed, or: seed)
        defenses = try c.value(.defenses, or: defenses)
        detectionPenalty = try c.value(.detectionPenalty, or: detectionPenalty)
        robustness = try c.value(.robustness, or: robustness)
        kip = try c.decodeIfPresent(KIPOptions.self, forKey: .kip)
        gradientMatching = try c.decodeIfPresent(GradientMatchingOptions.self, forKey: .gradientMatching)
        distributionMatching = try c.decodeIfPresent(DistributionMatchingOptions.self, forKey: .distributionMatching)
        ncfm = try c.decodeIfPresent(NCFMOptions.self, forKey: .ncfm)
        trajectoryMatching = try c.decodeIfPresent(TrajectoryOptions.self, forKey: .trajectoryMatching)
        expertTrajectories = try c.decodeIfPresent(ExpertTrajectoryOptions.self, forKey: .expertTrajectories)
        evaluation = try c.decodeIfPresent(DistillEvaluation.self, forKey: .evaluation)
        publishedEvaluation = try c.decodeIfPresent(PublishedEvaluationOptions.self, forKey: .publishedEvaluation)
    }

    /// A class may be written as a number or a name; `optional` fields default to class 0.
    private static func classField(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, optional: Bool) throws -> String {
        if optional && !c.contains(key) { return "0" }
        if let index = try? c.decode(Int.self, forKey: key) { return String(index) }
        return try c.decode(String.self, forKey: key)
    }

    /// Loads an attack spec and checks the values that do not need the dataset.
    public static func load(_ url: URL) throws -> AttackSpec {
        try check(SpecFile.load(AttackSpec.self, from: url), file: url.path)
    }

    /// Decodes an attack spec's text and checks it like `load`; `file` names it in errors.
    public static func parse(yaml: String, file: String) throws -> AttackSpec {
        try parse(SpecDocument(yaml: yaml, file: file))
    }

    /// Decodes and checks a spec from a parsed document.
    public static func parse(_ document: SpecDocument) throws -> AttackSpec {
        try check(document.decode(AttackSpec.self), file: document.file)
    }

    private static func check(_ spec: AttackSpec, file: String) throws(SpecError) -> AttackSpec {
        if let problem = spec.problem { throw SpecError(file: file, problem) }
        return spec
    }

    /// The first invalid value, named by its key.
    public var problem: String? {
        if let message = SafeName.describe(name, key: "name") ?? SafeName.describe(zoo, key: "zoo") { return message }
        let limits = AttackLimits.self
        if !(1...limits.imagesPerClass).contains(imagesPerClass) { return "images_per_class must be 1…\(limits.imagesPerClass) (got \(imagesPerClass))" }
        if steps < 1 || epochs < 1 { return "steps and epochs must be at least 1 (got \(steps), \(epochs))" }
        if steps > PoisonSet.maxUpdates / epochs {
            return "steps × epochs must be at most \(PoisonSet.maxUpdates) inner updates (got steps \(steps), epochs \(epochs))"
        }
        if !(initialStepSize > 0 && initialStepSize.isFinite) { return "initial_step_size must be positive and finite (got \(initialStepSize))" }
        if iterations < 1 { return "iterations must be at least 1 (got \(iterations)): with none, the poison would be the starting noise" }
        if !(1...limits.victimsPerIteration).contains(victimsPerIteration) {
            return "victims_per_iteration must be 1…\(limits.victimsPerIteration) (got \(victimsPerIteration))"
        }
        if !(1...limits.realBatchSize).contains(realBatchSize) { return "real_batch_size must be 1…\(limits.realBatchSize) (got \(realBatchSize))" }
        if let problem = optimizer.problem { return problem }
        if objective == .standard && (forgetShare != nil || retainWeight != 1) {
            return "forget_share and retain_weight shape the forget objective; remove them or set objective: forget"
        }
        if let share = forgetShare, !(share > 0 && share < 1) { return "forget_share must be between 0 and 1 exclusive (got \(share))" }
        if !(retainWeight >= 0 && retainWeight.isFinite) { return "retain_weight must be zero or positive and finite (got \(retainWeight))" }
        if let problem = robustness.problem { return problem }
        if !(detectionPenalty >= 0 && detectionPenalty.isFinite) {
            return "detection_penalty must be zero or positive and finite (got \(detectionPenalty))"
        }
        if let problem = methodProblem { return problem }
        if let problem = evaluationProblem { return problem }
        if let fixed = defenses.first(where: { $0.defense.adaptive == nil }) {
            return "defenses: \(fixed.name) is not differentiable and has no surrogate, so it cannot be crafted through (the other defenses can). Score the poison under \(fixed.name) with --defense \(fixed.key) instead"
        }
        return nil
    }

    /// The first option that does not fit the spec's method: a method's section without
    /// that method, or options of the unrolled steps that a matching method has no use for.
    var methodProblem: String? {
        if kip != nil && method != .kip { return "the kip section configures method: kip; remove it or set method: kip" }
        if ncfm != nil && method != .ncfm { return "the ncfm section configures method: ncfm; remove it or set method: ncfm" }
        if let problem = matchingProblem { return problem }
        if trajectoryMatching != nil && method != .trajectoryMatching {
            return "the trajectory_matching section configures method: trajectory-matching; remove it or set method: trajectory-matching"
        }
        if expertTrajectories != nil && method != .expertTrajectories {
            return "the expert_trajectories section configures method: expert-trajectories; remove it or set method: expert-trajectories"
        }
        guard method != .unrolledSteps else { return nil }
        let unused = [("steps", steps != 1), ("defenses", !defenses.isEmpty), ("robustness", robustness != Robustness()),
                      ("detection_penalty", detectionPenalty != 1)].filter(\.1).map(\.0)
        if !unused.isEmpty {
            return "\(unused.joined(separator: ", ")) shape the unrolled steps; method: \(method.rawValue) learns one set of images without them (remove them)"
        }
        if method == .kip, let kip {
            if let problem = kip.problem { return problem }
            if kip.labelSolve && learnLabels { return "kip.label_solve replaces the learned labels: choose it or learn_labels, not both" }
        }
        if method == .ncfm {
            if learnLabels { return "method: ncfm matches embeddings per class and learns no labels; remove learn_labels" }
            if let problem = ncfm?.problem { return problem }
        }
        if method == .trajectoryMatching {
            if learnLabels { return "learn_labels: method: trajectory-matching steps on the fixed labels (remove it)" }
            if let problem = trajectoryMatching?.problem { return problem }
        }
        if method == .expertTrajectories {
            if objective != .standard {
                return "method: expert-trajectories distills (objective: standard): its experts train on the clean data; the attack form is method: trajectory-matching"
            }
            if learnLabels { return "learn_labels: method: expert-trajectories steps on the fixed labels (remove it)" }
            if let problem = expertTrajectories?.problem { return problem }
        }
        return nil
    }

    /// The first evaluation option that does not fit: a section without its evaluation,
    /// or an evaluation that only distillation has.
    var evaluationProblem: String? {
        if publishedEvaluation != nil && evaluation != .published {
            return "the published_evaluation section configures evaluation: published; remove it or set evaluation: published"
        }
        if evaluation != nil && objective != .standard {
            return "evaluation: scores a distilled set (objective: standard); remove it from an attack spec"
        }
        return publishedEvaluation?.problem(iterations: iterations)
    }

    /// The iterations whose set a run keeps as a snapshot: the published evaluation's curve.
    public var snapshotIterations: Set<Int> { evaluation == .published ? Set(publishedEvaluation?.curve ?? []) : [] }

    /// The spec as crafting sees it: without the options that only act after crafting.
    public var craftingPart: AttackSpec {
        var spec = self
        (spec.evaluation, spec.publishedEvaluation) = (nil, nil)
        return spec
    }

    /// K and T as class indices, checked against the dataset's classes.
    public func classes(_ classNames: [String]) throws(SpecError) -> (forget: Int, target: Int) {
        func resolve(_ value: String, _ key: String) throws(SpecError) -> Int {
            if let index = Int(value) {
                guard classNames.indices.contains(index) else {
                    throw SpecError(file: name, "\(key) \(index) is not a class index 0…\(classNames.count - 1)")
                }
                return index
            }
            if let index = classNames.firstIndex(where: { $0.lowercased() == value.lowercased() }) { return index }
            throw SpecError(file: name, "\(key) '\(value)' is not a class; classes are: \(classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))")
        }
        let k = try resolve(forget, "forget"), t = try resolve(target, "target")
        guard k != t || objective == .standard else {
            throw SpecError(file: name, "forget and target are both class \(k) (\(classNames[k])): choose two different classes")
        }
        return (k, t)
    }
}
