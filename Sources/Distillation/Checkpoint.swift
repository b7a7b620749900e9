import Autodiff
import Formats
import Foundation
import Networks
import Poisoning

/// A crafting run's state on disk, written atomically every few iterations so an
/// interrupted run loses at most the work since the last checkpoint. The file is the
/// state's own tensors (`MethodState.save`) plus the hash of the configuration it
/// belongs to, so a checkpoint is never resumed under another spec.
public enum Checkpoint {
    public static func write(_ state: some MethodState, configHash: String, to url: URL) throws {
        var file = SafeTensors(metadata: ["format": "amnesia.checkpoint", "config_hash": configHash,
                                          "iteration": String(state.iteration)])
        try state.save(into: &file)
        try file.write(to: url)
    }

    /// Restores `fresh` (the state a new run would start from) from the file at `url`,
    /// refusing a checkpoint of a different configuration.
    public static func read<State: MethodState>(from url: URL, configHash: String, into fresh: State) throws -> State {
        let file = try SafeTensors(contentsOf: url)
        guard file.metadata["config_hash"] == configHash else {
            throw PoisonError("\(url.path) belongs to another configuration (hash \(file.metadata["config_hash"] ?? "none"), this run is \(configHash)); delete it or run without --resume")
        }
        for name in file.names {
            guard let values = try? file.floats(name), let i = values.firstIndex(where: { !$0.isFinite }) else { continue }
            throw PoisonError("\(url.path): '\(name)' value \(i) is \(values[i]); a checkpoint holds only finite numbers (it is corrupt or the run diverged); delete it and run without --resume")
        }
        var state = fresh
        try state.restore(from: file, source: url.path)
        return state
    }

    /// The tensor `name` of a checkpoint, which must have `shape` (the fresh state's).
    static func tensor(_ name: String, shape: [Int], in file: SafeTensors) throws -> Tensor {
        let stored = try file.shape(of: name)
        guard stored == shape else {
            throw PoisonError("\(file.source): '\(name)' has shape \(stored), this run's is \(shape); the checkpoint belongs to another configuration: delete it and run without --resume")
        }
        return Tensor(shape: shape, scalars: try file.floats(name))
    }

    /// The integer metadata `key` of a checkpoint, or an error naming the file.
    public static func count(_ key: String, in file: SafeTensors, source: String) throws -> Int {
        guard let value = file.metadata[key].flatMap(Int.init) else { throw PoisonError("\(source): metadata '\(key)' is missing") }
        return value
    }
}

extension Checkpoint {
    /// Adds tensors named `prefix.i` with their Adam moments (zeros before the first step).
    static func add(_ tensors: [Tensor], _ adam: Adam.State, prefix: String, to file: inout SafeTensors) throws {
        for (i, tensor) in tensors.enumerated() {
            let zeros = [Float](repeating: 0, count: tensor.count)
            try file.add(name: "\(prefix).\(i)", floats: tensor.scalars, shape: tensor.shape)
            try file.add(name: "\(prefix).\(i).adam_m", floats: adam.first.isEmpty ? zeros : adam.first[i], shape: tensor.shape)
            try file.add(name: "\(prefix).\(i).adam_v", floats: adam.second.isEmpty ? zeros : adam.second[i], shape: tensor.shape)
        }
    }

    /// Reads what `add` wrote back into `tensors` (shapes from the fresh state) and `adam`.
    static func restore(_ tensors: inout [Tensor], _ adam: inout Adam, prefix: String, steps: Int, from file: SafeTensors) throws {
        tensors = try tensors.indices.map { try tensor("\(prefix).\($0)", shape: tensors[$0].shape, in: file) }
        guard steps > 0 else { return }
        adam.state = Adam.State(first: try tensors.indices.map { try tensor("\(prefix).\($0).adam_m", shape: tensors[$0].shape, in: file).scalars },
                                second: try tensors.indices.map { try tensor("\(prefix).\($0).adam_v", shape: tensors[$0].shape, in: file).scalars },
                                steps: steps)
    }
}

extension Checkpoint {
    /// A method checkpoint's loss history and iteration, checked against each other.
    static func history(in file: SafeTensors, source: String) throws -> (losses: [Float], iteration: Int) {
        let losses = try file.floats("losses"), iteration = try count("iteration", in: file, source: source)
        guard losses.count == iteration else {
            throw PoisonError("\(source) is inconsistent (its loss history does not match its iteration); delete it and start over")
        }
        return (losses, iteration)
    }
}
