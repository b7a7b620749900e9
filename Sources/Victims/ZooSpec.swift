import Foundation

/// How each victim is trained: plain mini-batch cross-entropy with a seeded shuffle.
public struct TrainingRecipe: Codable, Sendable, Equatable, StrictlyDecodable {
    public var epochs: Int = 4
    public var batchSize: Int = 64
    /// `sgd` (with momentum and weight decay) or `adam`.
    public var optimizer: String = "sgd"
    public var learningRate: Float = 0.02
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    /// The learning rate is multiplied by `decay` at each epoch in `decayEpochs`.
    public var decayEpochs: [Int] = [3]
    public var decay: Float = 0.2
    /// `pytorch` (the framework's defaults) or `xavier` (Dataset Distillation's).
    public var initialization: String = "pytorch"

    public enum Keys: String, CodingKey, CaseIterable {
        case epochs, batchSize = "batch_size", optimizer, learningRate = "learning_rate", momentum
        case weightDecay = "weight_decay", decayEpochs = "decay_epochs", decay, initialization
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: Keys.self)
        var r = TrainingRecipe()
        r.epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? r.epochs
        r.batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? r.batchSize
        r.optimizer = try c.decodeIfPresent(String.self, forKey: .optimizer) ?? r.optimizer
        r.learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? r.learningRate
        r.momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? r.momentum
        r.weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? r.weightDecay
        r.decayEpochs = try c.decodeIfPresent([Int].self, forKey: .decayEpochs) ?? r.decayEpochs
        r.decay = try c.decodeIfPresent(Float.self, forKey: .decay) ?? r.decay
        r.initialization = try c.decodeIfPresent(String.self, forKey: .initialization) ?? r.initialization
        self = r
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(momentum, forKey: .momentum)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(decayEpochs, forKey: .decayEpochs)
        try c.encode(decay, forKey: .decay)
        try c.encode(initialization, forKey: .initialization)
    }

    /// Checks the values a person can get wrong, naming the key.
    func validate() throws(SpecError) {
        let problems = [
            epochs < 1 ? "training.epochs must be at least 1 (got \(epochs))" : nil,
            batchSize < 1 ? "training.batch_size must be at least 1 (got \(batchSize))" : nil,
            !["sgd", "adam"].contains(optimizer) ? "training.optimizer must be sgd or adam (got '\(optimizer)')" : nil,
            !(learningRate > 0) ? "training.learning_rate must be positive (got \(learningRate))" : nil,
            !["pytorch", "xavier"].contains(initialization)
                ? "training.initialization must be pytorch or xavier (got '\(initialization)')" : nil,
        ].compactMap { $0 }
        if let first = problems.first { throw SpecError(file: "", first) }
    }
}

/// A victim zoo: how many classifiers of one architecture to train on one dataset, split
/// into a crafting set (the attacker may use them) and a held-out set (evaluation only).
public struct ZooSpec: Codable, Sendable, Equatable, StrictlyDecodable {
    /// The zoo's name: its folder under `victims/`.
    public var name: String
    /// `fashion-mnist`, `mnist`, `kmnist`, `cifar10`, or `synthetic` (for tests).
    public var dataset: String = "fashion-mnist"
    /// Where the dataset's files are; the dataset's default location when absent.
    public var dataDir: String?
    public var architecture: String = "lenet"
    public var crafting: Int = 16
    public var heldout: Int = 8
    /// Victim i of the crafting set trains with seed `seed + i`, held-out victim j with
    /// `seed + 1_000_000 + j`, so the two sets never share a seed.
    public var seed: UInt64 = 1
    public var training = TrainingRecipe()

    public enum Keys: String, CodingKey, CaseIterable {
        case name, dataset, dataDir = "data_dir", architecture, crafting, heldout, seed, training
    }

    public init(name: String) { self.name = name }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: Keys.self)
        name = try c.decode(String.self, forKey: .name)
        dataset = try c.decodeIfPresent(String.self, forKey: .dataset) ?? dataset
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir)
        architecture = try c.decodeIfPresent(String.self, forKey: .architecture) ?? architecture
        crafting = try c.decodeIfPresent(Int.self, forKey: .crafting) ?? crafting
        heldout = try c.decodeIfPresent(Int.self, forKey: .heldout) ?? heldout
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        training = try c.decodeIfPresent(TrainingRecipe.self, forKey: .training) ?? training
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(name, forKey: .name)
        try c.encode(dataset, forKey: .dataset)
        try c.encodeIfPresent(dataDir, forKey: .dataDir)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(crafting, forKey: .crafting)
        try c.encode(heldout, forKey: .heldout)
        try c.encode(seed, forKey: .seed)
        try c.encode(training, forKey: .training)
    }

    /// Offset between the crafting and held-out seed ranges.
    public static let heldoutSeedOffset: UInt64 = 1_000_000

    /// Loads and validates a zoo spec.
    public static func load(_ url: URL) throws -> ZooSpec {
        let spec = try SpecFile.load(ZooSpec.self, from: url)
        do {
            try spec.validate()
        } catch {
            throw SpecError(file: url.path, error.message)
        }
        return spec
    }

    func validate() throws(SpecError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw SpecError(file: "", "name '\(name)' must be non-empty letters, digits, '-', '_' or '.' (it names a folder)")
        }
        guard crafting >= 0, heldout >= 0, crafting + heldout > 0 else {
            throw SpecError(file: "", "crafting (\(crafting)) and heldout (\(heldout)) must be non-negative and not both zero")
        }
        guard crafting < Int(Self.heldoutSeedOffset) else {
            throw SpecError(file: "", "crafting must be below \(Self.heldoutSeedOffset) so seeds stay disjoint")
        }
        try training.validate()
    }
}
