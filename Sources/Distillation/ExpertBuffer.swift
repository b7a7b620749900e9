import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Poisoning
import Victims
import Vocabulary

/// The experts of MTT's distillation form (MTT's buffer.py): networks trained by plain
/// mini-batch SGD (no momentum, weight decay or augmentation) on the clean training data,
/// their parameters kept after every epoch. Expert i starts from the crafting
/// initialization of index i (cycled when there are fewer), and its epoch k's image order
/// is drawn from a seed of its key and k, so a trajectory is a function of its key alone.
///
/// Trajectories are cached in `<cache>/experts/<key>.safetensors`, the key a hash of what
/// determines them (start weights, index, architecture, the training split's size, labels
/// and normalization, learning rate and batch; not the number of epochs: a longer request
/// extends a shorter trajectory). The file is rewritten atomically after every epoch, so an
/// interrupted run resumes an expert at its last finished epoch. A file that does not read
/// back as its key's trajectory (unreadable, another key, other shapes, non-finite values)
/// is discarded and rebuilt: the cache holds nothing a run cannot recompute.
final class ExpertBuffer: @unchecked Sendable {
    let context: CraftingContext
    let options: ExpertTrajectoryOptions
    private let lock = NSLock()
    private var trajectories: [Int: [[Tensor]]] = [:]

    init(context: CraftingContext, options: ExpertTrajectoryOptions) {
        (self.context, self.options) = (context, options)
    }

    /// What determines expert `expert`'s trajectory, as the file name it is cached under.
    func key(_ expert: Int) -> String {
        struct Identity: Encodable {
            let format = "amnesia.expert/1"
            let start: String, expert: Int, architecture: String
            let images: Int, labels: String, normalization: Normalization
            let learningRate: Float, batchSize: Int
        }
        let train = context.data.train
        let labels = SHA256.hex(Data(train.labels.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }))
        let identity = Identity(start: parameterFingerprint([start(expert)]), expert: expert,
                                architecture: context.metadata.architecture, images: train.count, labels: labels,
                                normalization: context.data.normalization, learningRate: options.expertLearningRate,
                                batchSize: options.expertBatchSize)
        return String(SHA256.hex((try? CanonicalJSON.encode(identity)) ?? Data()).prefix(24))
    }

    /// Where expert `expert` starts: a crafting initialization.
    func start(_ expert: Int) -> [Tensor] { context.victims[expert % context.victims.count] }

    /// The cache file of expert `expert` (nil: the context keeps nothing).
    func file(_ expert: Int) -> URL? {
        context.cache?.appendingPathComponent("experts").appendingPathComponent("\(key(expert)).safetensors")
    }

    /// Trains (or reads) every expert, `workers` side by side: the first iteration's cost.
    func prepare(workers: Int) {
        _ = parallelMap(Array(0..<options.experts), workers: workers) { self.trajectory($0).count }
    }

    /// θ_0 … θ_train_epochs of expert `expert`: cached, read from disk, or trained.
    func trajectory(_ expert: Int) -> [[Tensor]] {
        if let hit = lock.withLock({ trajectories[expert] }) { return hit }
        let made = trained(expert)
        lock.withLock { trajectories[expert] = made }
        return made
    }

    /// The trajectory, continuing from what the cache file holds and saving each epoch.
    private func trained(_ expert: Int) -> [[Tensor]] {
        let (key, url) = (key(expert), file(expert))
        var snapshots = url.flatMap { Self.read($0, key: key, like: start(expert)) } ?? [start(expert)]
        let seed = UInt64(key.prefix(16), radix: 16) ?? 0
        while snapshots.count <= options.trainEpochs {
            let epoch = snapshots.count - 1
            let recipe = FineTuneRecipe(epochs: 1, batchSize: options.expertBatchSize, learningRate: options.expertLearningRate,
                                        momentum: 0, seed: seed &+ UInt64(epoch))
            snapshots.append(Trainer.fineTune(context.classifier, snapshots[epoch], on: context.data.train, recipe: recipe))
            // A cache that cannot be written only costs the next run this training again.
            if let url { try? Self.write(snapshots, key: key, to: url) }
        }
        return Array(snapshots.prefix(options.trainEpochs + 1))
    }

    static func write(_ snapshots: [[Tensor]], key: String, to url: URL) throws {
        var file = SafeTensors(metadata: ["format": "amnesia.expert", "key": key, "epochs": String(snapshots.count - 1)])
        for (epoch, parameters) in snapshots.enumerated() {
            for (i, tensor) in parameters.enumerated() {
                try file.add(name: "epoch.\(epoch).\(i)", floats: tensor.scalars, shape: tensor.shape)
            }
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try file.write(to: url)
    }

    /// The snapshots a cache file holds, or nil when it is missing or not `key`'s
    /// trajectory of parameters shaped like `start`.
    static func read(_ url: URL, key: String, like start: [Tensor]) -> [[Tensor]]? {
        guard let file = try? SafeTensors(contentsOf: url), file.metadata["format"] == "amnesia.expert",
              file.metadata["key"] == key, let epochs = file.metadata["epochs"].flatMap(Int.init), epochs >= 0,
              file.names.count == (epochs + 1) * start.count else { return nil }
        var snapshots: [[Tensor]] = []
        for epoch in 0...epochs {
            var parameters: [Tensor] = []
            for (i, like) in start.enumerated() {
                let name = "epoch.\(epoch).\(i)"
                guard (try? file.shape(of: name)) == like.shape, let values = try? file.floats(name),
                      values.allSatisfy(\.isFinite) else { return nil }
                parameters.append(Tensor(shape: like.shape, scalars: values))
            }
            snapshots.append(parameters)
        }
        return snapshots
    }
}
