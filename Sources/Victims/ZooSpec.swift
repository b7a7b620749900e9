import Datasets
import Foundation
import ONNX
import Specs

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

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case epochs, batchSize = "batch_size", optimizer, learningRate = "learning_rate", momentum
        case weightDecay = "weight_decay", decayEpochs = "decay_epochs", decay, initialization
    }

    public init() {}

    /// The keys a spec sets, over the defaults (the same reading as a recipe-list entry).
    public init(from decoder: any Decoder) throws {
        self = try RecipeOverride(from: decoder).applied(to: TrainingRecipe())
    }

    /// Largest batch accepted: far above any useful batch, far below where index
    /// arithmetic could overflow.
    public static let maxBatchSize = 1 << 20

    /// Checks the values a person can get wrong, naming the key.
    func validate() throws(SpecError) {
        let problems = [
            epochs < 0 ? "training.epochs must be zero (untrained initializations) or more (got \(epochs))" : nil,
            !(1...Self.maxBatchSize).contains(batchSize) ? "training.batch_size must be 1…\(Self.maxBatchSize) (got \(batchSize))" : nil,
            !["sgd", "adam"].contains(optimizer) ? "training.optimizer must be sgd or adam (got '\(optimizer)')" : nil,
            !(learningRate > 0 && learningRate.isFinite) ? "training.learning_rate must be positive and finite (got \(learningRate))" : nil,
            !(0..<1).contains(momentum) ? "training.momentum must be in [0, 1) (got \(momentum))" : nil,
            !(weightDecay >= 0 && weightDecay.isFinite) ? "training.weight_decay must be zero or positive and finite (got \(weightDecay))" : nil,
            !(decay > 0 && decay.isFinite) ? "training.decay must be positive and finite (got \(decay))" : nil,
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
    /// Epochs after which each crafting victim's weights are also kept as an extra
    /// crafting victim (`crafting-003-e2`): a staggered ensemble, more diverse crafting
    /// weights at no extra training cost. Held-out victims are always fully trained.
    public var snapshotEpochs: [Int] = []
    /// Recipes cycled over the crafting victims (crafting victim i trains with entry
    /// i mod count): a crafting zoo that spans recipes. Each entry is a full recipe; keys
    /// it leaves out take `training`'s values. Empty: every crafting victim uses `training`.
    public var craftingRecipes: [TrainingRecipe] = []
    /// Recipes cycled over the held-out victims, as `crafting_recipes` (e.g. a
    /// foreign-recipe held-out zoo). Empty: every held-out victim uses `training`.
    public var heldoutRecipes: [TrainingRecipe] = []
    /// Train on the images of these classes only (nil: all): a network pretrained on one
    /// task (e.g. Fashion-MNIST's first five classes), for distillation that adapts it to
    /// another. Test accuracy in the manifest is still over every class.
    public var trainClasses: [Int]?
    /// For an imported ONNX architecture with batch normalization: how it behaves in the
    /// victim's poisoned step (nil: `eval`, frozen statistics).
    public var batchNorm: BatchNormMode?
    /// For `architecture: onnx` trained by Amnesia: the ONNX file whose graph the victims
    /// share (its weights are not used: every victim starts from PyTorch's initialization).
    public var onnxModel: String?
    /// For `dataset: image-folder`: how the files become inputs (resize, crop, channels,
    /// normalization, split), so every run on this zoo reads them the same way.
    public var images: ImageOptions?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, dataset, dataDir = "data_dir", architecture, crafting, heldout, seed, training
        case snapshotEpochs = "snapshot_epochs", craftingRecipes = "crafting_recipes", heldoutRecipes = "heldout_recipes"
        case trainClasses = "train_classes"
        case batchNorm = "batch_norm", onnxModel = "onnx_model"
        case images
    }

    public init(name: String) { self.name = name }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        dataset = try c.value(.dataset, or: dataset)
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir)
        architecture = try c.value(.architecture, or: architecture)
        crafting = try c.value(.crafting, or: crafting)
        heldout = try c.value(.heldout, or: heldout)
        seed = try c.value(.seed, or: seed)
        training = try c.value(.training, or: training)
        snapshotEpochs = try c.value(.snapshotEpochs, or: snapshotEpochs)
        trainClasses = try c.decodeIfPresent([Int].self, forKey: .trainClasses)
        // Recipe lists: each entry's missing keys default to `training`'s values.
        let base = training
        func recipes(_ key: CodingKeys) throws -> [TrainingRecipe] {
            guard c.contains(key) else { return [] }
            return try c.decode([RecipeOverride].self, forKey: key).map { try $0.applied(to: base) }
        }
        craftingRecipes = try recipes(.craftingRecipes)
        heldoutRecipes = try recipes(.heldoutRecipes)
        onnxModel = try c.decodeIfPresent(String.self, forKey: .onnxModel)
        images = try c.decodeIfPresent(ImageOptions.self, forKey: .images)
        if let text = try c.decodeIfPresent(String.self, forKey: .batchNorm) {
            guard let mode = BatchNormMode(rawValue: text) else {
                throw DecodingError.dataCorruptedError(forKey: .batchNorm, in: c, debugDescription:
                    "'\(text)' is not one of: \(BatchNormMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            batchNorm = mode
        }
    }

    /// The recipe of victim `index` of `role`: its entry of the role's recipe list, cycled,
    /// or `training` when that list is empty.
    public func recipe(crafting: Bool, index: Int) -> TrainingRecipe {
        let list = crafting ? craftingRecipes : heldoutRecipes
        return list.isEmpty ? training : list[index % list.count]
    }

    /// Offset between the crafting and held-out seed ranges.
    public static let heldoutSeedOffset: UInt64 = 1_000_000

    /// The file in a zoo's folder that holds its image folder's decoded images.
    public static let imageCacheFile = "image-cache.safetensors"

    /// The zoo's dataset as its victims see it (images read with `images`, decoded images
    /// cached in `directory`), normalized with `normalization` or fitted.
    public func loadData(cacheIn directory: URL?, normalization: Normalization? = nil) throws -> PreparedData {
        try PreparedData.load(dataset: dataset, directory: dataDir, normalization: normalization, images: images,
                              cache: directory?.appendingPathComponent(Self.imageCacheFile))
    }

    /// Loads and validates a zoo spec.
    public static func load(_ url: URL) throws -> ZooSpec {
        try check(SpecFile.load(ZooSpec.self, from: url), file: url.path)
    }

    /// Decodes and validates a zoo spec's text; `file` names it in errors.
    public static func parse(yaml: String, file: String) throws -> ZooSpec {
        try parse(SpecDocument(yaml: yaml, file: file))
    }

    /// Decodes and checks a spec from a parsed document.
    public static func parse(_ document: SpecDocument) throws -> ZooSpec {
        try check(document.decode(ZooSpec.self), file: document.file)
    }

    private static func check(_ spec: ZooSpec, file: String) throws(SpecError) -> ZooSpec {
        do {
            try spec.validate()
        } catch {
            throw SpecError(file: file, error.message)
        }
        return spec
    }

    func validate() throws(SpecError) {
        try SafeName.check(name, key: "name", file: "")
        guard crafting >= 0, heldout >= 0, crafting + heldout > 0 else {
            throw SpecError(file: "", "crafting (\(crafting)) and heldout (\(heldout)) must be non-negative and not both zero")
        }
        guard crafting < Int(Self.heldoutSeedOffset), heldout < Int(Self.heldoutSeedOffset) else {
            throw SpecError(file: "", "crafting (\(crafting)) and heldout (\(heldout)) must be below \(Self.heldoutSeedOffset) so seeds stay disjoint")
        }
        guard seed <= UInt64.max - 2 * Self.heldoutSeedOffset else {
            throw SpecError(file: "", "seed \(seed) is too large: victims train with seeds up to seed + \(2 * Self.heldoutSeedOffset); use a seed below \(UInt64.max - 2 * Self.heldoutSeedOffset)")
        }
        try training.validate()
        for (key, list) in [("crafting_recipes", craftingRecipes), ("heldout_recipes", heldoutRecipes)] {
            for (i, recipe) in list.enumerated() {
                do { try recipe.validate() } catch {
                    throw SpecError(file: "", "\(key)[\(i)]: " + error.message.replacingOccurrences(of: "training.", with: ""))
                }
            }
        }
        if let classes = trainClasses, classes.isEmpty || Set(classes).count != classes.count || classes.contains(where: { $0 < 0 }) {
            throw SpecError(file: "", "train_classes must list distinct class indices, at least one (got \(classes))")
        }
        let lastEpoch = (craftingRecipes.isEmpty ? [training] : craftingRecipes).map(\.epochs).min() ?? training.epochs
        if let bad = snapshotEpochs.first(where: { !(1..<lastEpoch).contains($0) }) {
            throw SpecError(file: "", "snapshot_epochs entry \(bad) must be an epoch before the last of every crafting recipe (1…\(lastEpoch - 1))")
        }
    }
}

/// One entry of `crafting_recipes` / `heldout_recipes`: the recipe keys it sets, over a
/// base recipe (the zoo's `training`). Unknown keys are errors, as everywhere.
struct RecipeOverride: Decodable, StrictlyDecodable {
    typealias CodingKeys = TrainingRecipe.CodingKeys
    var values: KeyedDecodingContainer<TrainingRecipe.CodingKeys>

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        values = try decoder.container(keyedBy: CodingKeys.self)
    }

    func applied(to base: TrainingRecipe) throws -> TrainingRecipe {
        var r = base
        r.epochs = try values.value(.epochs, or: r.epochs)
        r.batchSize = try values.value(.batchSize, or: r.batchSize)
        r.optimizer = try values.value(.optimizer, or: r.optimizer)
        r.learningRate = try values.value(.learningRate, or: r.learningRate)
        r.momentum = try values.value(.momentum, or: r.momentum)
        r.weightDecay = try values.value(.weightDecay, or: r.weightDecay)
        r.decayEpochs = try values.value(.decayEpochs, or: r.decayEpochs)
        r.decay = try values.value(.decay, or: r.decay)
        r.initialization = try values.value(.initialization, or: r.initialization)
        return r
    }
}
