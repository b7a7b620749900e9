import Formats
import Foundation
import Poisoning

/// Where crafting is, for progress displays.
public struct CraftProgress: Sendable {
    public let iteration, iterations: Int
    public let loss: Float
    public let stepSizes: [Float]
    public let secondsPerIteration: Double
}

/// The loop every method runs under: resume from a checkpoint, iterate, checkpoint every
/// `checkpointEvery` iterations, when asked to stop and at the end (the caller deletes the
/// checkpoint once the poison is safely written), and hand over the set at the iterations
/// in `snapshots` (0: the starting set) for a learning curve.
public enum Crafting {
    /// Runs `method` to its last iteration and returns its poison set, or nil when
    /// `shouldStop` turned true (a checkpoint was written first).
    public static func run<Method: DistillationMethod>(
        _ method: Method, checkpoint url: URL, configHash: String, resume: Bool, checkpointEvery: Int = 50,
        workers: Int = 2, shouldStop: @Sendable () -> Bool = { false },
        snapshots: Set<Int> = [], snapshot: (Int, PoisonSet) throws -> Void = { _, _ in },
        progress: (CraftProgress) -> Void = { _ in }
    ) throws -> PoisonSet? {
        var state = method.initialState()
        if resume, FileManager.default.fileExists(atPath: url.path) {
            state = try Checkpoint.read(from: url, configHash: configHash, into: state)
            let resumed = method.poisonSet(state)
            let problems = PoisonSet.valueProblems(images: resumed.images.scalars, stepSizes: resumed.stepSizes,
                                                   labels: resumed.labels, softLabels: resumed.softLabels)
            guard problems.isEmpty else {
                throw PoisonError("\(url.path): cannot resume from this checkpoint, the poison it holds is not usable:\n  - "
                                  + problems.joined(separator: "\n  - ") + "\ndelete it and run without --resume")
            }
        }
        let start = Date()
        let startIteration = state.iteration
        if startIteration == 0, snapshots.contains(0) { try snapshot(0, method.poisonSet(state)) }
        while state.iteration < method.iterations {
            if shouldStop() {
                try Checkpoint.write(state, configHash: configHash, to: url)
                return nil
            }
            method.iterate(&state, workers: workers)
            if snapshots.contains(state.iteration) { try snapshot(state.iteration, method.poisonSet(state)) }
            if state.iteration % checkpointEvery == 0 { try Checkpoint.write(state, configHash: configHash, to: url) }
            progress(CraftProgress(iteration: state.iteration, iterations: method.iterations, loss: state.lastLoss ?? 0,
                                   stepSizes: state.currentStepSizes,
                                   secondsPerIteration: Date().timeIntervalSince(start) / Double(state.iteration - startIteration)))
        }
        // The finished state too: until the caller has written the poison, this is the work.
        try Checkpoint.write(state, configHash: configHash, to: url)
        return method.poisonSet(state)
    }
}
