import Autodiff
import Datasets
import Distillation
import Foundation
import Networks

/// A crafting run's state on disk, written atomically every few iterations so an
/// interrupted run loses at most the work since the last checkpoint.
enum Checkpoint {
    static func write(_ state: Crafter.State, configHash: String, to url: URL) throws {
        var file = SafeTensors(metadata: [
            "format": "amnesia.checkpoint", "config_hash": configHash, "iteration": String(state.iteration),
            "image_adam_steps": String(state.imageOptimizer.state.steps),
            "step_adam_steps": String(state.stepSizeOptimizer.state.steps),
        ])
        let image = state.imageOptimizer.state, step = state.stepSizeOptimizer.state
        for (s, tensor) in state.images.enumerated() {
            try file.add(name: "images.\(s)", floats: tensor.scalars, shape: tensor.shape)
            try file.add(name: "images.\(s).adam_m", floats: image.first.isEmpty ? [Float](repeating: 0, count: tensor.count) : image.first[s], shape: tensor.shape)
            try file.add(name: "images.\(s).adam_v", floats: image.second.isEmpty ? [Float](repeating: 0, count: tensor.count) : image.second[s], shape: tensor.shape)
        }
        try file.add(name: "rho", floats: state.rho, shape: [state.rho.count])
        try file.add(name: "rho.adam_m", floats: step.first.isEmpty ? state.rho.map { _ in 0 } : step.first.flatMap { $0 }, shape: [state.rho.count])
        try file.add(name: "rho.adam_v", floats: step.second.isEmpty ? state.rho.map { _ in 0 } : step.second.flatMap { $0 }, shape: [state.rho.count])
        try file.add(name: "losses", floats: state.losses, shape: [state.losses.count])
        try file.write(to: url)
    }

    /// Restores `fresh` (the state a new run would start from) from the file at `url`,
    /// refusing a checkpoint of a different configuration.
    static func read(from url: URL, configHash: String, into fresh: Crafter.State) throws -> Crafter.State {
        let file = try SafeTensors(contentsOf: url)
        guard file.metadata["config_hash"] == configHash else {
            throw PoisonError("\(url.path) belongs to another configuration (hash \(file.metadata["config_hash"] ?? "none"), this run is \(configHash)); delete it or run without --resume")
        }
        func count(_ key: String) throws -> Int {
            guard let value = file.metadata[key].flatMap(Int.init) else { throw PoisonError("\(url.path): metadata '\(key)' is missing") }
            return value
        }
        var state = fresh
        state.images = try fresh.images.indices.map { s in
            Tensor(shape: fresh.images[s].shape, scalars: try file.floats("images.\(s)"))
        }
        state.rho = try file.floats("rho")
        state.losses = try file.floats("losses")
        state.iteration = try count("iteration")
        let imageSteps = try count("image_adam_steps"), stepSteps = try count("step_adam_steps")
        if imageSteps > 0 {
            state.imageOptimizer.state = Adam.State(
                first: try fresh.images.indices.map { try file.floats("images.\($0).adam_m") },
                second: try fresh.images.indices.map { try file.floats("images.\($0).adam_v") }, steps: imageSteps)
        }
        if stepSteps > 0 {
            state.stepSizeOptimizer.state = Adam.State(
                first: try file.floats("rho.adam_m").map { [$0] }, second: try file.floats("rho.adam_v").map { [$0] }, steps: stepSteps)
        }
        guard state.rho.count == fresh.rho.count, state.losses.count == state.iteration else {
            throw PoisonError("\(url.path) is inconsistent (step sizes or loss history do not match); delete it and start over")
        }
        return state
    }
}
