import Distillation
import Foundation
import Pipeline
import Results
import Specs
import TestSupport
import Testing

@Suite("evaluation: published, the papers' protocol for a distilled set", .serialized)
struct PublishedEvaluationTests {
    static let yaml = """
        name: tiny
        zoo: tiny-init
        objective: standard
        knowledge: distribution
        evaluation: published

        """

    @Test("the section is read strictly, needs evaluation: published, and names a bad value's key")
    func decoding() throws {
        let spec = try AttackSpec.parse(yaml: Self.yaml + "published_evaluation: {networks: 2, epochs: 40, dsa: true, width: 16, depth: 2, controls: false}",
                                        file: "t.yaml")
        let options = try #require(spec.publishedEvaluation)
        #expect(spec.evaluation == .published)
        #expect((options.networks, options.epochs, options.dsa, options.width, options.depth, options.controls) == (2, 40, true, 16, 2, false))
        #expect(try AttackSpec.parse(yaml: Self.yaml, file: "t.yaml").publishedEvaluation == nil, "defaults when absent")
        let defaults = PublishedEvaluationOptions()
        #expect((defaults.width, defaults.depth, defaults.networks, defaults.epochs, defaults.dsa) == (128, 3, 5, 300, false),
                "the papers' ConvNet-3 and DC's 300 epochs by default")
        func problem(_ text: String) -> String {
            do { _ = try AttackSpec.parse(yaml: text, file: "t.yaml"); return "" } catch { return "\(error)" }
        }
        #expect(problem(Self.yaml + "published_evaluation: {epoch: 40}").contains("epoch"), "a typo is refused")
        #expect(problem(Self.yaml + "published_evaluation: {networks: 0}").contains("published_evaluation.networks must be 1…100 (got 0)"))
        #expect(problem(Self.yaml.replacingOccurrences(of: "evaluation: published", with: "evaluation: papers")).contains("steps, published"))
        #expect(problem(Self.yaml.replacingOccurrences(of: "evaluation: published\n", with: "") + "published_evaluation: {networks: 2}")
            .contains("set evaluation: published"))
        #expect(problem("name: a\nzoo: z\nforget: 0\ntarget: 1\nevaluation: published").contains("objective: standard"))
    }

    @Test("a tiny distilled set and its controls train fresh ConvNets above chance; the evaluation keeps the run folder")
    func tinyRun() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.initZoo(root: root)
        var spec = TinyDistillation.spec(zoo: "tiny-init", knowledge: .distribution, iterations: 30)
        let plain = try DistillRun(AttackRun(spec: spec, zoo: zoo, reportsRoot: root))
        spec.evaluation = .published
        var options = PublishedEvaluationOptions()
        (options.networks, options.epochs, options.width, options.depth, options.dsa) = (2, 40, 8, 2, true)
        spec.publishedEvaluation = options
        let run = try DistillRun(AttackRun(spec: spec, zoo: zoo, reportsRoot: root))
        #expect(run.directory == plain.directory, "how a set is evaluated is not part of the run's hash")
        let distilled = try #require(try run.run.craft(resume: false)).poison
        #expect(try run.finishedPoison()?.images.scalars == distilled.images.scalars, "--resume finds the finished set")
        let result = try run.publishedEvaluation(distilled)
        #expect(result.seeds == [spec.seed + 1, spec.seed + 2] && result.distilled.count == 2)
        #expect(Set(result.controls.keys) == ["random_real", "kmeans", "class_means"])
        // Chance is 0.25 on the synthetic 4-class data. Measured, default and Haswell/baseline
        // kernels alike: distilled (30 iterations only) 0.96 and 0.59, every control 0.99-1.0.
        #expect(result.distilled.allSatisfy { $0 > 0.4 }, "distilled: \(result.distilled)")
        for (name, accuracies) in result.controls {
            #expect(accuracies.count == 2 && accuracies.allSatisfy { $0 > 0.8 }, "\(name): \(accuracies)")
        }
        #expect(result.recipe.contains("ConvNet-2 (width 8") && result.recipe.contains("40 epochs") && result.recipe.contains("DSA"))

        var report = try run.evaluate(distilled)
        report.publishedEvaluation = result
        try run.write(report)
        let markdown = try String(contentsOf: run.directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("Papers' protocol, distilled set (ConvNet-2") && markdown.contains("Papers' protocol, control kmeans"))
        #expect(try DistillReport(jsonData: Data(contentsOf: run.directory.appendingPathComponent("report.json"))) == report)

        // Every network's score is saved as it finishes; a second evaluation reads them back.
        let saved = run.directory.appendingPathComponent("published-scores.json")
        let scores = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: saved))
        #expect(scores.count == 6, "2 networks × (distilled, random real, class means): one k-means centroid a class is the class mean, the same set, scored once")
        try JSONEncoder().encode(scores.mapValues { _ in 0.125 }).write(to: saved)
        let resumed = try run.publishedEvaluation(distilled)
        #expect(resumed.distilled == [0.125, 0.125] && resumed.controls.values.allSatisfy { $0 == [0.125, 0.125] },
                "saved networks are not trained again")
    }
}
