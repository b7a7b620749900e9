import Autodiff
import Distillation
import Formats
import Foundation
import Specs
import TestSupport
import Testing

@Suite("MTT's distillation form (expert trajectories)")
struct ExpertTrajectoriesTests {
    /// The method on the synthetic 4-class data (TinyDistillation), 2 experts of 4 epochs
    /// (6 batches of 32 each), segments of 2 epochs from epoch 0 or 1, 5 synthetic steps.
    func method(cache: URL? = nil, _ configure: (inout AttackSpec) -> Void = { _ in }) throws -> ExpertTrajectories {
        var spec = TinyDistillation.spec(.expertTrajectories)
        var options = ExpertTrajectoryOptions()
        (options.experts, options.trainEpochs, options.expertEpochs, options.maxStartEpoch) = (2, 4, 2, 2)
        (options.syntheticSteps, options.expertLearningRate, options.expertBatchSize) = (5, 0.05, 32)
        spec.expertTrajectories = options
        configure(&spec)
        var context = try TinyDistillation.context(spec, networks: 4)
        context.cache = cache
        return ExpertTrajectories(spec: spec, context: context)
    }

    /// The matching loss of `state` averaged over every expert and start epoch.
    func meanLoss(_ method: ExpertTrajectories, _ state: ExpertTrajectories.State) -> Float {
        let options = method.spec.expertTrajectories ?? ExpertTrajectoryOptions()
        var rng = SeededGenerator(seed: 1)
        let losses = (0..<options.experts).flatMap { expert in
            (0..<options.maxStartEpoch).map { epoch in
                method.segmentLoss(images: state.images, rho: Tensor(state.rho), expert: expert, epoch: epoch, using: &rng).item
            }
        }
        return losses.reduce(0, +) / Float(losses.count)
    }

    @Test("matching lowers the loss over every expert segment, the step size moves from the experts' rate, and a checkpoint resumes exactly")
    func learnsAndResumes() throws {
        // Measured (after / before; seeds 0-3, default and OPENBLAS_CORETYPE=Haswell
        // AMNESIA_KERNELS=baseline kernels): 0.39-0.41; with the engine off (learning rates 0) 1.0.
        let mtt = try method { $0.iterations = 30; $0.initialImages = .real }
        var straight = mtt.initialState()
        #expect(abs(straight.currentStepSizes[0] - 0.05) < 1e-6, "η̃ starts at the experts' learning rate")
        let before = meanLoss(mtt, straight)
        for _ in 0..<mtt.iterations { mtt.iterate(&straight) }
        let after = meanLoss(mtt, straight)
        #expect(after < 0.7 * before, "mean segment loss \(before) → \(after)")
        #expect(straight.currentStepSizes[0] != 0.05)
        var first = mtt.initialState()
        for _ in 0..<12 { mtt.iterate(&first) }
        var file = SafeTensors(metadata: ["iteration": "12"])
        try first.save(into: &file)
        let other = try method { $0.iterations = 30; $0.initialImages = .real }
        var resumed = other.initialState()
        try resumed.restore(from: file, source: "test")
        for _ in 12..<other.iterations { other.iterate(&resumed) }
        #expect(resumed.images.scalars == straight.images.scalars && resumed.rho == straight.rho && resumed.losses == straight.losses)
        let poison = mtt.poisonSet(straight)
        #expect(poison.images.shape[0] == 4 && poison.stepSizes.count == 10 && poison.softLabels == nil)
    }

    @Test("synthetic_batch steps on minibatches of the set and still learns")
    func minibatches() throws {
        // Measured as above: 0.59-0.62; with the engine off 1.0.
        let mtt = try method { $0.iterations = 30; $0.initialImages = .real; $0.expertTrajectories?.syntheticBatch = 2 }
        var state = mtt.initialState()
        let before = meanLoss(mtt, state)
        for _ in 0..<mtt.iterations { mtt.iterate(&state) }
        #expect(state.losses.allSatisfy { $0.isFinite })
        #expect(meanLoss(mtt, state) < 0.8 * before)
    }

    @Test("experts are cached: a second method reads them (not retrains), a truncated file is resumed, a corrupt one rebuilt")
    func cache() throws {
        try withTempDir { dir in
            let trained = try method(cache: dir).expertTrajectories(workers: 1)
            #expect(trained.count == 2 && trained.allSatisfy { $0.count == 5 })
            #expect(trained[0][0].map(\.scalars) != trained[0][4].map(\.scalars), "the expert moves")
            let folder = dir.appendingPathComponent("experts")
            let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "safetensors" }.sorted { $0.path < $1.path }
            #expect(files.count == 2)
            // Another key's trajectory under this key's name would be refused; the same key
            // with other values is read as is: proof that the second run reads.
            let original = try SafeTensors(contentsOf: files[0])
            var marked = SafeTensors(metadata: original.metadata)
            for name in original.names {
                let values = try original.floats(name)
                try marked.add(name: name, floats: name == "epoch.3.0" ? values.map { _ in 7 } : values, shape: try original.shape(of: name))
            }
            try marked.write(to: files[0])
            let reread = try method(cache: dir).expertTrajectories(workers: 1)
            let markedExpert = reread.firstIndex { $0[3][0].scalars.allSatisfy { $0 == 7 } }
            #expect(markedExpert != nil, "read from the cache, not retrained")
            // Truncated to epochs 0…1: the rest is trained again, to the same values.
            var truncated = SafeTensors(metadata: original.metadata.merging(["epochs": "1"]) { $1 })
            for name in original.names where name.hasPrefix("epoch.0.") || name.hasPrefix("epoch.1.") {
                try truncated.add(name: name, floats: try original.floats(name), shape: try original.shape(of: name))
            }
            try truncated.write(to: files[0])
            #expect(try method(cache: dir).expertTrajectories(workers: 1).map { $0.map { $0.map(\.scalars) } }
                    == trained.map { $0.map { $0.map(\.scalars) } })
            try Data("not a safetensors file".utf8).write(to: files[0])
            #expect(try method(cache: dir).expertTrajectories(workers: 1).map { $0.map { $0.map(\.scalars) } }
                    == trained.map { $0.map { $0.map(\.scalars) } })
            #expect((try? SafeTensors(contentsOf: files[0]))?.metadata["epochs"] == "4", "the corrupt file was rebuilt")
            // Another learning rate is another key: its own files beside these.
            _ = try method(cache: dir) { $0.expertTrajectories?.expertLearningRate = 0.02 }.expertTrajectories(workers: 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".safetensors") }.count == 4)
            // Without a cache folder the experts are the same, trained in memory.
            #expect(try method().expertTrajectories(workers: 2).map { $0.map { $0.map(\.scalars) } } == trained.map { $0.map { $0.map(\.scalars) } })
        }
    }

    @Test("the expert_trajectories section: decoded strictly, refused without its method or with the forget objective, values named")
    func spec() throws {
        let base = "name: a\nzoo: z\nobjective: standard\n"
        func problem(_ yaml: String) throws -> String? { try SpecFile.decode(AttackSpec.self, yaml: base + yaml, file: "a.yaml").problem }
        let ok = "method: expert-trajectories\nexpert_trajectories:\n  experts: 3\n  train_epochs: 8\n  expert_epochs: 2\n  max_start_epoch: 7\n"
            + "  synthetic_steps: 10\n  synthetic_batch: 5\n  expert_learning_rate: 0.02\n  expert_batch_size: 128\n"
        #expect(try problem(ok) == nil)
        let options = try #require(try SpecFile.decode(AttackSpec.self, yaml: base + ok, file: "a.yaml").expertTrajectories)
        #expect(options.experts == 3 && options.trainEpochs == 8 && options.maxStartEpoch == 7 && options.syntheticBatch == 5)
        #expect(options.expertLearningRate == 0.02 && options.expertBatchSize == 128 && options.syntheticSteps == 10)
        #expect(try problem("expert_trajectories:\n  experts: 3\n")?.contains("set method: expert-trajectories") == true)
        #expect(try SpecFile.decode(AttackSpec.self, yaml: "name: a\nzoo: z\nforget: 0\ntarget: 1\nmethod: expert-trajectories\n", file: "a.yaml")
                .problem?.contains("objective: standard") == true)
        #expect(try problem("method: expert-trajectories\nlearn_labels: true\n")?.contains("learn_labels") == true)
        #expect(try problem("method: expert-trajectories\nsteps: 2\n")?.contains("steps") == true)
        for (key, value) in [("experts", "0"), ("train_epochs", "0"), ("expert_epochs", "0"), ("max_start_epoch", "0"),
                             ("synthetic_steps", "1001"), ("synthetic_batch", "0"), ("expert_batch_size", "0"),
                             ("expert_learning_rate", "0"), ("expert_learning_rate", ".nan")] {
            let message = try problem("method: expert-trajectories\nexpert_trajectories:\n  \(key): \(value)\n")
            #expect(message?.contains("expert_trajectories.\(key)") == true && message?.contains(value.replacingOccurrences(of: ".", with: "")) == true,
                    "\(key): \(value) → \(message ?? "accepted")")
        }
        let late = try problem("method: expert-trajectories\nexpert_trajectories:\n  train_epochs: 4\n  expert_epochs: 2\n  max_start_epoch: 4\n")
        #expect(late?.contains("max_start_epoch 4 + expert_epochs 2 must be at most train_epochs 4 + 1") == true, "\(late ?? "accepted")")
        #expect(throws: (any Error).self) { try problem("method: expert-trajectories\nexpert_trajectories:\n  syn_steps: 1\n") }
    }
}
