import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import ONNX
import Specs
import Synchronization
import Vocabulary

/// One victim in a zoo's manifest.
public struct VictimRecord: Codable, Sendable, Equatable {
    public var id: String
    public var role: VictimRole
    /// The training seed (0 for imported weights).
    public var seed: UInt64
    /// `trained` by Amnesia, or `imported from <file name>` for weights trained elsewhere.
    public var source: String
    public var recipe: TrainingRecipe?
    public var testAccuracy: Double
    public var perClassAccuracy: [Double]
    /// The weights file, relative to the zoo folder.
    public var file: String
    public var sha256: String
    /// For a snapshot (see `ZooSpec.snapshotEpochs`), the epoch it was taken after;
    /// nil for a fully trained victim.
    public var epoch: Int?
    /// Set when the victim is suspicious but usable (see `accuracyWarning`).
    public var warning: String? = nil

    enum CodingKeys: String, CodingKey {
        case id, role, seed, source, recipe, testAccuracy = "test_accuracy"
        case perClassAccuracy = "per_class_accuracy", file, sha256, epoch, warning
    }
}

/// A zoo's `manifest.json`: what the zoo is and every victim in it.
public struct ZooManifest: Codable, Sendable, Equatable {
    public static let schemaID = "amnesia.zoo/1"
    public var schema = ZooManifest.schemaID
    public var spec: ZooSpec
    public var classNames: [String]
    public var inputShape: [Int]
    public var normalization: Normalization
    public var victims: [VictimRecord]

    enum CodingKeys: String, CodingKey {
        case schema, spec, classNames = "class_names", inputShape = "input_shape", normalization, victims
    }
}

/// Errors about zoos, each saying what to do.
public struct ZooError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A victim zoo on disk: `victims/<name>/manifest.json` and one safetensors file per
/// victim, in PyTorch `state_dict` naming.
public struct Zoo: Sendable {
    public let directory: URL
    public private(set) var manifest: ZooManifest

    public var name: String { manifest.spec.name }
    public var crafting: [VictimRecord] { manifest.victims.filter { $0.role == .crafting } }
    public var heldout: [VictimRecord] { manifest.victims.filter { $0.role == .heldout } }

    /// The classifier every victim of this zoo instantiates: a built-in architecture, or
    /// (architecture `onnx`) the graph of the zoo's `model.onnx`. `forTraining`: the one
    /// zoo training uses, whose batch normalization always runs as in `model.train()`.
    public func classifier(forTraining: Bool = false) throws -> any Classifier {
        guard manifest.spec.architecture == Self.onnxArchitecture else {
            return try Architecture(named: manifest.spec.architecture).make(inputShape: manifest.inputShape, classes: manifest.classNames.count)
        }
        let model = try OnnxModel(contentsOf: directory.appendingPathComponent(Self.onnxGraphFile))
        guard model.inputShape == manifest.inputShape, model.classes == manifest.classNames.count else {
            throw ZooError("\(directory.appendingPathComponent(Self.onnxGraphFile).path) takes images \(model.inputShape) and gives \(model.classes) classes, but the zoo's \(manifest.spec.dataset) has images \(manifest.inputShape) and \(manifest.classNames.count) classes")
        }
        return OnnxClassifier(model: model, batchNorm: forTraining ? .train : manifest.spec.batchNorm ?? .eval)
    }

    /// The architecture name of zoos whose victims share an imported ONNX graph.
    public static let onnxArchitecture = "onnx"
    /// That graph, in the zoo's folder (its initializers are the first imported victim's).
    public static let onnxGraphFile = "model.onnx"

    /// Opens the zoo at `directory`.
    public init(at directory: URL) throws {
        let url = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url) else {
            throw ZooError("no zoo at \(directory.path) (missing manifest.json); train one with `amnesia victims train SPEC`")
        }
        manifest = try ZooManifest.parse(data, source: url.path)
        self.directory = directory
    }

    /// A shared lock on the zoo's folder, for a reader to hold while it uses the victims:
    /// it fails at once while `victims train` or `victims import` writes the zoo (they hold
    /// it exclusively), and it checks that the manifest on disk is still the one this value
    /// read, so a zoo written since it was opened is not scored half-finished.
    public func readLock(purpose: String) throws -> FolderLock {
        let lock = try FolderLock(directory, .shared, purpose: purpose)
        let url = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url), try ZooManifest.parse(data, source: url.path) == manifest else {
            throw ZooError("zoo '\(name)' changed on disk since it was opened (another process trained or imported into it); run the command again")
        }
        return lock
    }

    init(directory: URL, manifest: ZooManifest) {
        self.directory = directory
        self.manifest = manifest
    }

    /// The zoos under `root`, by folder name.
    public static func list(root: URL) -> [Zoo] {
        let folders = (try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? []
        return folders.sorted { $0.path < $1.path }.compactMap { try? Zoo(at: $0) }
    }

    /// Loads the weights of `record`, checking the file's fingerprint and every tensor's
    /// name and shape against the architecture.
    public func parameters(of record: VictimRecord) throws -> [Tensor] {
        let url = directory.appendingPathComponent(record.file)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ZooError("victim '\(record.id)': cannot read \(url.path); retrain with `amnesia victims train`")
        }
        guard SHA256.hex(data) == record.sha256 else {
            throw ZooError("victim '\(record.id)': \(url.path) does not match its SHA-256 in the manifest (changed or corrupt); delete it and retrain")
        }
        let file = try SafeTensors(data: data, source: url.path)
        // Weights this zoo trained record their role: a manifest edited to move a victim
        // between crafting and held-out is caught here, before it skews a held-out score.
        if file.metadata["amnesia.zoo"] == name, let role = file.metadata["amnesia.role"], role != record.role.rawValue {
            throw ZooError("victim '\(record.id)': the manifest says \(record.role.rawValue) but \(url.path) was trained as \(role); restore the manifest or retrain the zoo")
        }
        return try Self.parameters(from: file, for: classifier())
    }

    /// Parameters in `classifier`'s order from a `state_dict` file. Missing, extra or
    /// mis-shaped tensors are refused with the expected layout.
    public static func parameters(from file: SafeTensors, for classifier: any Classifier) throws -> [Tensor] {
        let expected = classifier.parameterSpecs
        let layout = expected.map { "\($0.name) \($0.shape)" }.joined(separator: ", ")
        let names = Set(file.names)
        let missing = expected.map(\.name).filter { !names.contains($0) }
        let extra = file.names.filter { name in !expected.contains { $0.name == name } }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing \(missing.joined(separator: ", "))") }
        if !extra.isEmpty { problems.append("unexpected \(extra.joined(separator: ", "))") }
        for spec in expected where names.contains(spec.name) {
            let shape = try file.shape(of: spec.name)
            if shape != spec.shape { problems.append("'\(spec.name)' has shape \(shape), expected \(spec.shape)") }
        }
        guard problems.isEmpty else {
            throw ZooError("\(file.source) does not fit \(classifier.name) for input \(classifier.inputShape) and \(classifier.classes) classes: \(problems.joined(separator: "; ")). Expected exactly: \(layout)")
        }
        return try expected.map { Tensor(shape: $0.shape, scalars: try file.floats($0.name)) }
    }

    /// A `state_dict`-style safetensors file for `parameters`.
    public static func weightsFile(_ parameters: [Tensor], classifier: any Classifier, metadata: [String: String]) throws -> SafeTensors {
        var file = SafeTensors(metadata: metadata)
        for (spec, tensor) in zip(classifier.parameterSpecs, parameters) {
            try file.add(name: spec.name, floats: tensor.scalars, shape: spec.shape)
        }
        return file
    }

    /// Writes the manifest atomically.
    func saveManifest() throws {
        try AtomicFile.write(CanonicalJSON.encode(manifest, pretty: true), to: directory.appendingPathComponent("manifest.json"))
    }

    /// Adds (or replaces, by id) a victim whose weights are already written.
    mutating func record(_ victim: VictimRecord) throws {
        manifest.victims.removeAll { $0.id == victim.id }
        manifest.victims.append(victim)
        manifest.victims.sort { ($0.role.rawValue, $0.id) < ($1.role.rawValue, $1.id) }
        try saveManifest()
    }

    /// Removes imported victims (manifest entries, then their weights files), as when the
    /// model file they came from changed since.
    public mutating func removeImported(_ ids: [String]) throws {
        let gone = manifest.victims.filter { ids.contains($0.id) }
        if let trained = gone.first(where: { $0.seed != 0 || !$0.source.hasPrefix("imported from ") }) {
            throw ZooError("victim '\(trained.id)' of \(directory.path) was trained by Amnesia, not imported; it is not removed")
        }
        manifest.victims.removeAll { ids.contains($0.id) }
        try saveManifest()
        for victim in gone { try? FileManager.default.removeItem(at: directory.appendingPathComponent(victim.file)) }
    }
}

extension Zoo {
    /// The zoo's dataset, normalized with the statistics its victims were trained with.
    public func loadData() throws -> PreparedData {
        try manifest.spec.loadData(cacheIn: directory, normalization: manifest.normalization)
    }
}
