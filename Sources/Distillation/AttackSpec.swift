import Foundation
import Specs
import Victims

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
    /// Weight each sampled victim's gradient by softmax(loss / temperature) instead of
    /// equally (nil): a small temperature focuses crafting on the victims the poison
    /// works worst on, trading mean strength for reliability across victims.
    public var victimTemperature: Float?
    /// Gaussian noise added to each sampled victim's weights every iteration, as a
    /// fraction of each tensor's standard deviation (nil: none): widens the crafting
    /// distribution around the zoo's victims.
    public var victimNoise: Float?
    /// Weight of the real examples whose class is not K in the outer loss (1: the plain
    /// mean): keeps the other classes' loss where it was, so strength does not come from
    /// wrecking the model.
    public var retainWeight: Float = 1
    /// Keep every synthetic pixel inside the image range [0, 1] (projected after each
    /// update, in normalized space): the poison is then a set of real images that
    /// survives being saved as 8-bit PNG, instead of unbounded arrays.
    public var clipPixels: Bool = false
    public var seed: UInt64 = 0
    /// Defenses the victims deploy in the evaluation: the poison and its controls are scored
    /// under each, beside the undefended update.
    public var defenses: [DefenseSpec] = []
    /// HOOK (issue 13): the `robustness:` section, levers for held-out and foreign-recipe
    /// victims (see Robustness.swift); all off when absent.
    public var robustness = Robustness()

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, zoo, zooSpec = "zoo_spec", foreignZooSpec = "foreign_zoo_spec", forget, target, knowledge, fixedVictim = "fixed_victim"
        case imagesPerClass = "images_per_class", steps, epochs, initialStepSize = "initial_step_size"
        case iterations, victimsPerIteration = "victims_per_iteration", realBatchSize = "real_batch_size"
        case optimizer, method, objective, forgetShare = "forget_share", learnLabels = "learn_labels"
        case victimTemperature = "victim_temperature", victimNoise = "victim_noise"
        case retainWeight = "retain_weight", clipPixels = "clip_pixels", seed, defenses
        case robustness
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
        forget = try Self.classField(c, .forget)
        target = try Self.classField(c, .target)
        knowledge = try c.value(.knowledge, or: knowledge)
        fixedVictim = try c.decodeIfPresent(String.self, forKey: .fixedVictim)
        imagesPerClass = try c.value(.imagesPerClass, or: imagesPerClass)
        steps = try c.value(.steps, or: steps)
        epochs = try c.value(.epochs, or: epochs)
        initialStepSize = try c.value(.initialStepSize, or: initialStepSize)
        iterations = try c.value(.iterations, or: iterations)
        victimsPerIteration = try c.value(.victimsPerIteration, or: victimsPerIteration)
        realBatchSize = try c.value(.realBatchSize, or: realBatchSize)
        optimizer = try c.value(.optimizer, or: optimizer)
        method = try c.value(.method, or: method)
        objective = try c.value(.objective, or: objective)
        forgetShare = try c.decodeIfPresent(Double.self, forKey: .forgetShare)
        learnLabels = try c.value(.learnLabels, or: learnLabels)
        victimTemperature = try c.decodeIfPresent(Float.self, forKey: .victimTemperature)
        victimNoise = try c.decodeIfPresent(Float.self, forKey: .victimNoise)
        retainWeight = try c.value(.retainWeight, or: retainWeight)
        clipPixels = try c.value(.clipPixels, or: clipPixels)
        seed = try c.value(.seed, or: seed)
        defenses = try c.value(.defenses, or: defenses)
        robustness = try c.value(.robustness, or: robustness)
    }

    /// A class may be written as a number or a name.
    private static func classField(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String {
        if let index = try? c.decode(Int.self, forKey: key) { return String(index) }
        return try c.decode(String.self, forKey: key)
    }

    /// Loads an attack spec and checks the values that do not need the dataset.
    public static func load(_ url: URL) throws -> AttackSpec {
        let spec = try SpecFile.load(AttackSpec.self, from: url)
        if let problem = spec.problem { throw SpecError(file: url.path, problem) }
        return spec
    }

    /// The first invalid value, named by its key.
    public var problem: String? {
        if imagesPerClass < 1 { return "images_per_class must be at least 1 (got \(imagesPerClass))" }
        if steps < 1 || epochs < 1 { return "steps and epochs must be at least 1 (got \(steps), \(epochs))" }
        if !(initialStepSize > 0) { return "initial_step_size must be positive (got \(initialStepSize))" }
        if iterations < 0 { return "iterations must not be negative (got \(iterations))" }
        if victimsPerIteration < 1 { return "victims_per_iteration must be at least 1 (got \(victimsPerIteration))" }
        if realBatchSize < 1 { return "real_batch_size must be at least 1 (got \(realBatchSize))" }
        if objective == .standard && (forgetShare != nil || retainWeight != 1) {
            return "forget_share and retain_weight shape the forget objective; remove them or set objective: forget"
        }
        if let share = forgetShare, !(share > 0 && share < 1) { return "forget_share must be between 0 and 1 exclusive (got \(share))" }
        if !(retainWeight >= 0) { return "retain_weight must be zero or positive (got \(retainWeight))" }
        if let noise = victimNoise, !(noise >= 0) { return "victim_noise must be zero or positive (got \(noise))" }
        if let t = victimTemperature, !(t > 0) { return "victim_temperature must be positive (got \(t))" }
        if let problem = robustness.problem { return problem }
        if optimizer.decayEvery < 1 { return "optimizer.decay_every must be at least 1 (got \(optimizer.decayEvery))" }
        return nil
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
