import Autodiff
import Datasets
import Dispatch
import Formats
import Foundation
import Networks
import ONNX
import Specs
import Synchronization
import Vocabulary

/// What zoo training reports as it goes.
public enum ZooEvent: Sendable {
    /// A victim already in the zoo, kept as is (resume).
    case kept(id: String)
    case started(id: String, index: Int, total: Int)
    case progress(id: String, TrainingProgress)
    case finished(VictimRecord, seconds: Double)
}

extension Zoo {
    /// Trains every victim `spec` asks for that is not already in the zoo under `root`,
    /// `workers` at a time; with a `shard`, only that shard's share of them (victim `i` of
    /// the spec's order belongs to shard `i mod N`), so N tasks sharing the folder train
    /// the zoo together. Each finished victim is written at once (weights, then its record,
    /// then the manifest rebuilt from every record: see `ZooRecords.swift`), so an
    /// interrupted or repeated run resumes where it stopped and keeps what is complete.
    /// A victim's seed comes from the spec and its own index, never from the shard: the
    /// weights are the same bytes whatever the number of shards.
    @discardableResult
    public static func train(spec: ZooSpec, root: URL, data: PreparedData? = nil, workers: Int = 2, shard: Shard = .whole,
                             events: @escaping @Sendable (ZooEvent) -> Void = { _ in }) throws -> Zoo {
        do { try spec.validate() } catch { throw SpecError(file: "zoo spec", error.message) }
        let data = try data ?? spec.loadData(cacheIn: root.appendingPathComponent(spec.name))
        if let bad = spec.trainClasses?.first(where: { $0 >= data.info.numClasses }) {
            throw SpecError(file: "zoo spec", "train_classes entry \(bad) is not a class of \(spec.dataset) (0…\(data.info.numClasses - 1))")
        }
        let side = min(data.train.height, data.train.width)
        if let crop = spec.recipes.map(\.augmentation.crop).first(where: { $0 >= side }) {
            throw SpecError(file: "zoo spec", "augmentation.crop \(crop) must be below the images' side (\(side) pixels)")
        }
        let directory = root.appendingPathComponent(spec.name)
        let fresh = Zoo(directory: directory, manifest: ZooManifest(
            spec: spec, classNames: data.info.classNames, inputShape: data.inputShape,
            normalization: data.normalization, victims: []))
        if spec.architecture == onnxArchitecture { try placeGraph(of: spec, in: directory) }
        let classifier = try fresh.classifier(forTraining: true)  // an unknown architecture fails before anything is written
        // One task alone holds the folder; shards share it, each writing only its own
        // victims' files, and leave the temporary files of other hosts' live writes alone.
        let lock = try FolderLock(directory, shard == .whole ? .exclusive : .shared, purpose: "training this zoo")
        defer { withExtendedLifetime(lock) {} }
        if shard == .whole { AtomicFile.sweepStale(in: directory) }

        let planned = plannedVictims(spec)
        let seeds = Dictionary(uniqueKeysWithValues: planned.flatMap { victim in
            ([victim.id] + victim.snapshotIDs(spec)).map { ($0, victim.seed) }
        })
        let zoo = try mergeRecords(into: fresh, planned: seeds)
        let pending = shard.share(of: planned).filter { victim in
            let complete = ([victim.id] + victim.snapshotIDs(spec)).allSatisfy { id in
                guard let record = zoo.manifest.victims.first(where: { $0.id == id }),
                      let bytes = try? Data(contentsOf: directory.appendingPathComponent(record.file)) else { return false }
                return SHA256.hex(bytes) == record.sha256
            }
            if complete { events(.kept(id: victim.id)) }
            return !complete
        }
        guard !pending.isEmpty else { return zoo }

        let shared = Mutex(zoo)
        let failure = Mutex<(any Error)?>(nil)
        let next = Atomic<Int>(0)
        let workerCount = max(1, min(workers, pending.count))
        // BLAS runs one thread per call (see `BLASThreads`), so victims side by side use
        // one core each and the weights are bit-identical whatever the number of workers.
        DispatchQueue.concurrentPerform(iterations: workerCount) { _ in
            while failure.withLock({ $0 == nil }) {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < pending.count else { return }
                let victim = pending[index]
                let id = victim.id
                events(.started(id: id, index: index + 1, total: pending.count))
                let start = Date()
                do {
                    let records = try trainVictim(id: id, role: victim.role, seed: victim.seed, recipe: victim.recipe, spec: spec,
                                                  classifier: classifier, data: data, directory: directory) { events(.progress(id: id, $0)) }
                    try writeRecords(records, in: directory)
                    try shared.withLock { zoo in zoo = try mergeRecords(into: fresh, planned: seeds) }
                    events(.finished(records[0], seconds: Date().timeIntervalSince(start)))
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return shared.withLock { $0 }
    }

    /// Puts the graph of `spec.onnx_model` in the zoo folder as `model.onnx`, or checks
    /// that the one already there has the same structure (a resumed zoo).
    private static func placeGraph(of spec: ZooSpec, in directory: URL) throws {
        guard let path = spec.onnxModel else {
            throw ZooError("zoo spec '\(spec.name)': architecture onnx needs onnx_model, the ONNX file whose graph its victims share")
        }
        let source = URL(fileURLWithPath: path)
        let model = try OnnxModel(contentsOf: source)
        let placed = directory.appendingPathComponent(onnxGraphFile)
        if FileManager.default.fileExists(atPath: placed.path) {
            guard try OnnxModel(contentsOf: placed).structure == model.structure else {
                throw ZooError("\(placed.path) is another graph than \(path); give the spec another name or delete that folder")
            }
            return
        }
        try OutputFolder.prepare(directory, option: nil)
        try AtomicFile.write(Data(contentsOf: source), to: placed)
    }

    /// One victim a zoo spec asks for: its id, role, seed (from the spec's seed and its own
    /// index) and recipe.
    struct PlannedVictim: Sendable {
        let id: String
        let role: VictimRole
        let seed: UInt64
        let recipe: TrainingRecipe

        /// The ids of the snapshots the spec keeps of it (crafting victims only).
        func snapshotIDs(_ spec: ZooSpec) -> [String] {
            role == .crafting ? spec.snapshotEpochs.filter { $0 < recipe.epochs }.map { snapshotID(id, epoch: $0) } : []
        }
    }

    /// Every victim `spec` asks for, in a fixed order: crafting, then held-out.
    static func plannedVictims(_ spec: ZooSpec) -> [PlannedVictim] {
        (0..<spec.crafting).map {
            PlannedVictim(id: String(format: "crafting-%03d", $0), role: .crafting, seed: spec.seed + UInt64($0),
                          recipe: spec.recipe(crafting: true, index: $0))
        } + (0..<spec.heldout).map {
            PlannedVictim(id: String(format: "heldout-%03d", $0), role: .heldout, seed: spec.seed + ZooSpec.heldoutSeedOffset + UInt64($0),
                          recipe: spec.recipe(crafting: false, index: $0))
        }
    }

    /// The id of a crafting victim's snapshot after `epoch`.
    static func snapshotID(_ id: String, epoch: Int) -> String { "\(id)-e\(epoch)" }

    /// Trains one victim and writes its weights, plus (crafting victims) the snapshots the
    /// spec asks for; returns their records, the fully trained victim first.
    private static func trainVictim(
        id: String, role: VictimRole, seed: UInt64, recipe: TrainingRecipe, spec: ZooSpec, classifier: any Classifier,
        data: PreparedData, directory: URL, progress: (TrainingProgress) -> Void
    ) throws -> [VictimRecord] {
        var snapshots: [(epoch: Int, parameters: [Tensor])] = []
        let black = zip(data.normalization.mean, data.normalization.std).map { -$0 / $1 }
        let parameters = Trainer.train(classifier, on: try trainingImages(data.train, spec: spec), recipe: recipe, seed: seed,
                                       cropFill: black, progress: progress) { epoch, p in
            if role == .crafting && spec.snapshotEpochs.contains(epoch) { snapshots.append((epoch, p)) }
        }
        func save(_ id: String, _ parameters: [Tensor], epoch: Int?) throws -> VictimRecord {
            let predictions = Trainer.predictions(classifier, parameters, on: data.test)
            let confusion = Confusion(predictions: predictions, labels: data.test.labels, classes: data.info.numClasses)
            var metadata = [
                "format": "pt", "amnesia.zoo": spec.name, "amnesia.victim": id, "amnesia.role": role.rawValue,
                "amnesia.seed": String(seed), "amnesia.architecture": spec.architecture, "amnesia.dataset": spec.dataset,
            ]
            if let epoch { metadata["amnesia.epoch"] = String(epoch) }
            let bytes = try weightsFile(parameters, classifier: classifier, metadata: metadata).data()
            try AtomicFile.write(bytes, to: directory.appendingPathComponent("\(id).safetensors"))
            return VictimRecord(id: id, role: role, seed: seed, source: "trained", recipe: recipe,
                                testAccuracy: confusion.accuracy, perClassAccuracy: confusion.perClassAccuracy,
                                file: "\(id).safetensors", sha256: SHA256.hex(bytes), epoch: epoch,
                                // An untrained initialization is at chance by design.
                                warning: recipe.epochs == 0 ? nil : VictimRecord.accuracyWarning(confusion.accuracy, classes: data.info.numClasses))
        }
        return try [save(id, parameters, epoch: nil)] + snapshots.map { try save(snapshotID(id, epoch: $0.epoch), $0.parameters, epoch: $0.epoch) }
    }

    /// The images a victim of `spec` trains on: every one, or those of `spec.trainClasses`.
    static func trainingImages(_ train: LabeledImages, spec: ZooSpec) throws -> LabeledImages {
        guard let classes = spec.trainClasses.map(Set.init) else { return train }
        return try train.subset(train.labels.indices.filter { classes.contains(train.labels[$0]) })
    }

    /// Adds classifiers trained elsewhere (PyTorch `state_dict`s saved as safetensors, or
    /// ONNX files of this zoo's ONNX graph) to this zoo under `role`, after checking every
    /// tensor against the architecture and measuring test accuracy on `data`.
    /// Every file is read and checked before the first is added, so a bad file adds none.
    public mutating func importWeights(_ files: [URL], role: VictimRole = .heldout, data: PreparedData) throws -> [VictimRecord] {
        let classifier = try classifier()
        let checked = try files.map { url in
            let (bytes, parameters) = try Self.importedWeights(url, for: classifier)
            if let problem = weightsProblem(parameters, names: classifier.parameterSpecs.map(\.name)) {
                throw ZooError("\(url.path): \(problem); these are not trained weights (nothing was imported)")
            }
            return (url, bytes, parameters)
        }
        var known = manifest.victims.map { ($0.sha256, "victim '\($0.id)'") }
        for (url, bytes, _) in checked {
            let hash = SHA256.hex(bytes)
            if let twin = known.first(where: { $0.0 == hash }) {
                throw ZooError("\(url.path) holds the same weights as \(twin.1) (SHA-256 \(hash.prefix(12))…): one network would count twice in every result (nothing was imported)")
            }
            known.append((hash, url.path))
        }
        return try checked.map { url, bytes, parameters in
            let confusion = Confusion(predictions: Trainer.predictions(classifier, parameters, on: data.test),
                                      labels: data.test.labels, classes: data.info.numClasses)
            var id = "imported-" + SafeName.sanitized(url.deletingPathExtension().lastPathComponent)
            if manifest.victims.contains(where: { $0.id == id }) { id += "-" + String(SHA256.hex(bytes).prefix(8)) }
            try AtomicFile.write(bytes, to: directory.appendingPathComponent("\(id).safetensors"))
            let record = VictimRecord(id: id, role: role, seed: 0, source: "imported from \(url.lastPathComponent)", recipe: nil,
                                      testAccuracy: confusion.accuracy, perClassAccuracy: confusion.perClassAccuracy,
                                      file: "\(id).safetensors", sha256: SHA256.hex(bytes), epoch: nil,
                                      warning: VictimRecord.accuracyWarning(confusion.accuracy, classes: data.info.numClasses))
            try self.record(record)
            return record
        }
    }

    /// The SHA-256 that importing `url` would record: it tells whether a model file still
    /// holds the weights imported from it earlier.
    public func importedDigest(of url: URL) throws -> String {
        SHA256.hex(try Self.importedWeights(url, for: classifier()).0)
    }

    /// A victim's weights file (safetensors, `state_dict` names) and its parameters, from
    /// a safetensors file or from the initializers of an ONNX file whose graph is the
    /// zoo's own.
    private static func importedWeights(_ url: URL, for classifier: any Classifier) throws -> (Data, [Tensor]) {
        if url.pathExtension.lowercased() == "onnx" {
            guard let zooGraph = classifier as? OnnxClassifier else {
                throw ZooError("\(url.path) is an ONNX model but this zoo's architecture is \(classifier.name); import it into a new zoo (--zoo NAME)")
            }
            let model = try OnnxModel(contentsOf: url)
            guard model.structure == zooGraph.model.structure else {
                throw ZooError("\(url.path) is not the graph of this zoo's \(onnxGraphFile) (its nodes or initializers differ); import it into a new zoo (--zoo NAME)")
            }
            let bytes = try weightsFile(model.fileParameters, classifier: classifier,
                                        metadata: ["format": "pt", "amnesia.source": url.lastPathComponent]).data()
            return (bytes, model.fileParameters)
        }
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch {
            throw ZooError("cannot read \(url.path): \(error.localizedDescription)")
        }
        return (bytes, try parameters(from: SafeTensors(data: bytes, source: url.path), for: classifier))
    }

    /// An empty zoo for imported victims, created if `root/name` does not exist yet. A new
    /// zoo of architecture `onnx` takes `onnxGraph` as its graph and `batchNorm` as its
    /// victims' behaviour in the poisoned step.
    public static func openOrCreate(name: String, architecture: String, dataset: String, dataDir: String?,
                                    images: ImageOptions? = nil, root: URL, data: PreparedData, onnxGraph: URL? = nil,
                                    batchNorm: BatchNormMode = .eval) throws -> Zoo {
        if let message = SafeName.describe(name, key: "--zoo") { throw ZooError(message) }
        let directory = root.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("manifest.json").path) {
            return try Zoo(at: directory)
        }
        var spec = ZooSpec(name: name)
        (spec.architecture, spec.dataset, spec.dataDir, spec.crafting, spec.heldout) = (architecture, dataset, dataDir, 0, 0)
        spec.images = images
        if batchNorm != .eval { spec.batchNorm = batchNorm }
        let zoo = Zoo(directory: directory, manifest: ZooManifest(
            spec: spec, classNames: data.info.classNames, inputShape: data.inputShape,
            normalization: data.normalization, victims: []))
        guard architecture == onnxArchitecture else {
            _ = try zoo.classifier()  // an unknown architecture fails before anything is written
            try OutputFolder.prepare(directory, option: nil)
            try zoo.saveManifest()
            return zoo
        }
        guard let onnxGraph else { throw ZooError("a new zoo of architecture onnx needs an ONNX file to take its graph from") }
        _ = try OnnxModel(contentsOf: onnxGraph)  // an unusable graph fails before anything is written
        try OutputFolder.prepare(directory, option: nil)
        do {
            try AtomicFile.write(Data(contentsOf: onnxGraph), to: directory.appendingPathComponent(onnxGraphFile))
            _ = try zoo.classifier()
            try zoo.saveManifest()
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        return zoo
    }
}
