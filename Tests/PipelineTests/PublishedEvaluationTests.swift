import Distillation
import Foundation
import Pipeline
import Poisoning
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

        let curved = try AttackSpec.parse(yaml: Self.yaml + "iterations: 500\npublished_evaluation: {curve: [0, 100, 300], extrapolate_to: 20000}", file: "t.yaml")
        #expect(curved.publishedEvaluation?.curve == [0, 100, 300] && curved.publishedEvaluation?.extrapolateTo == 20000)
        #expect(curved.snapshotIterations == [0, 100, 300])
        #expect(curved.craftingPart.snapshotIterations.isEmpty, "snapshots are not part of what crafting hashes")
        #expect(problem(Self.yaml + "iterations: 500\npublished_evaluation: {curve: [100, 500]}")
            .contains("published_evaluation.curve: 500 is not an iteration before the last (0…499)"))
        #expect(problem(Self.yaml + "iterations: 500\npublished_evaluation: {curve: [300, 100]}").contains("increasing iterations"))
        #expect(problem(Self.yaml + "iterations: 500\npublished_evaluation: {curve: [100, 100]}").contains("each once"))
        #expect(problem(Self.yaml + "iterations: 500\npublished_evaluation: {curve: [100], extrapolate_to: 400}")
            .contains("extrapolate_to must be beyond the run's 500 iterations (got 400)"))
        #expect(problem(Self.yaml + "iterations: 500\npublished_evaluation: {curve: [0], extrapolate_to: 9000}").contains("needs a curve point at iteration 1 or later"))
    }

    @Test("the extrapolation is the least-squares line on ln(iteration), fitted from iteration 1 on")
    func extrapolation() throws {
        typealias Point = PublishedEvaluationResult.CurvePoint
        // Exactly on 0.5 + 0.1·log10(iteration), with the starting set (iteration 0) left out of the fit.
        let curve = [Point(iteration: 0, accuracies: [0.2]), Point(iteration: 10, accuracies: [0.58, 0.62]),
                     Point(iteration: 100, accuracies: [0.7]), Point(iteration: 1000, accuracies: [0.8])]
        let line = try #require(PublishedEvaluationResult.Extrapolation(curve: curve, to: 100_000))
        #expect(line.fittedTo == [10, 100, 1000])
        #expect(abs(line.accuracy - 1.0) < 1e-9 && abs(line.slope - 0.1 / log(10)) < 1e-9 && abs(line.intercept - 0.5) < 1e-9)
        #expect(PublishedEvaluationResult.Extrapolation(curve: Array(curve.prefix(2)), to: 1000) == nil, "one point from iteration 1 on is no line")
        // A report written before the curve existed still reads.
        let old = #"{"recipe": "r", "seeds": [2], "distilled": [0.5], "controls": {}, "seconds": 1}"#
        let decoded = try JSONDecoder().decode(PublishedEvaluationResult.self, from: Data(old.utf8))
        #expect(decoded.curve.isEmpty && decoded.extrapolation == nil && decoded.distilled == [0.5])
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
        (options.curve, options.extrapolateTo) = ([0, 10], 300)
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
        #expect(result.curve.map(\.iteration) == [0, 10, 30] && result.curve.last?.accuracies == result.distilled)
        #expect(result.curve.allSatisfy { $0.accuracies.count == 2 })
        #expect(try PoisonSet(contentsOf: run.run.snapshotURL(0)).images.scalars != distilled.images.scalars,
                "the snapshot of iteration 0 is the starting set")
        #expect(result.extrapolation?.fittedTo == [10, 30] && result.extrapolation?.iterations == 300)

        var report = try run.evaluate(distilled)
        report.publishedEvaluation = result
        try run.write(report)
        let markdown = try String(contentsOf: run.directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("Papers' protocol, distilled set (ConvNet-2") && markdown.contains("Papers' protocol, control kmeans"))
        #expect(markdown.contains("learning curve: the set at iteration 10") && markdown.contains("EXTRAPOLATED (not measured) to 300 iterations"))
        #expect(try DistillReport(jsonData: Data(contentsOf: run.directory.appendingPathComponent("report.json"))) == report)

        // Every network's score is saved as it finishes; a second evaluation reads them back.
        let saved = run.directory.appendingPathComponent("published-scores.json")
        let scores = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: saved))
        #expect(scores.count == 10, "2 networks × (distilled, 2 snapshots, random real, class means): one k-means centroid a class is the class mean, the same set, scored once")
        try JSONEncoder().encode(scores.mapValues { _ in 0.125 }).write(to: saved)
        let resumed = try run.publishedEvaluation(distilled)
        #expect(resumed.distilled == [0.125, 0.125] && resumed.controls.values.allSatisfy { $0 == [0.125, 0.125] }
                    && resumed.curve.allSatisfy { $0.accuracies == [0.125, 0.125] },
                "saved networks are not trained again")
    }
}
