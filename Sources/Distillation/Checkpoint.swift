import Formats
import Foundation

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
        var state = fresh
        try state.restore(from: file, source: url.path)
        return state
    }

    /// The integer metadata `key` of a checkpoint, or an error naming the file.
    public static func count(_ key: String, in file: SafeTensors, source: String) throws -> Int {
        guard let value = file.metadata[key].flatMap(Int.init) else { throw PoisonError("\(source): metadata '\(key)' is missing") }
        return value
    }
}
