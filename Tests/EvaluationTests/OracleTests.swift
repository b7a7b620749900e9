import Autodiff
import Datasets
import Evaluation
import Foundation
import Networks
import Poisoning
import Results
import Testing
import Victims

@Suite("The oracle")
struct OracleTests {
    /// Two LeNets trained briefly on the synthetic data, so K is recognised before the oracle.
    static let trained: [EvaluatedVictim] = (0..<2).map { i in
        var recipe = TrainingRecipe()
        (recipe.epochs, recipe.batchSize, recipe.learningRate, recipe.decayEpochs) = (2, 32, 0.05, [])
        return EvaluatedVictim(id: "v\(i)", role: .heldout, seed: UInt64(i),
                               parameters: Trainer.train(Fixture.net, on: Fixture.data.train, recipe: recipe, seed: UInt64(40 + i)))
    }

    @Test("fine-tuning on the relabelled training set forces K to T on every victim, and is cached")
    func forcesAndCaches() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("oracle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let evaluator = Evaluator(classifier: Fixture.net, images: Fixture.data.test, forget: 2, target: 3)
        let oracle = try Oracle.chosen(classifier: Fixture.net, train: Fixture.data.train, forget: 2, target: 3, seed: 1,
                                       selection: ([Self.trained[0].parameters], Fixture.data.train), cache: folder)
        #expect(Oracle.learningRates.contains(oracle.recipe.learningRate))
        let before = evaluator.baseline(Self.trained)
        let after = try oracle.metrics(Self.trained, evaluator: evaluator)
        for (victim, metrics) in zip(Self.trained, before) {
            let forced = try #require(after[victim.id])
            #expect(metrics.asr < 0.2 && forced.asr > 0.8, "ASR \(metrics.asr) → \(forced.asr)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files.count == 3, "one learning-rate choice and one result per victim: \(files)")
        // A second oracle of the same choice reads the cache: same learning rate, same metrics.
        let again = try Oracle.chosen(classifier: Fixture.net, train: Fixture.data.train, forget: 2, target: 3, seed: 1,
                                      selection: ([Self.trained[0].parameters], Fixture.data.train), cache: folder)
        #expect(again.recipe == oracle.recipe)
        #expect(try again.metrics(Self.trained, evaluator: evaluator) == after)
    }

    @Test("a plan with an oracle reads every set against it, controls included")
    func planAttachesOracles() throws {
        var plan = EvaluationPlan(poison: Fixture.poison(), heldout: Self.trained)
        plan.controls = [.init(key: "no_poison", description: "none", poison: nil)]
        plan.oracle = try Oracle(recipe: FineTuneRecipe(learningRate: 0.01), classifier: Fixture.net,
                                 train: Fixture.data.train, forget: 2, target: 3, cache: nil)
        let results = try plan.run(classifier: Fixture.net, images: Fixture.data.test)
        #expect(results.heldout.victims.allSatisfy { $0.oracle != nil })
        #expect(results.heldout.summary.oracle != nil && results.controls[0].victims.summary.oracle != nil)
        #expect(results.oracleRecipe == FineTuneRecipe(learningRate: 0.01).summary)
    }
}
