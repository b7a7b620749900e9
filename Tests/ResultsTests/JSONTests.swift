import Foundation
import Results
import ResultsFixtures
import Testing

@Suite("report.json schema")
struct JSONTests {
    @Test("Every required JSON path exists, with fractions in [0, 1]")
    func requiredPaths() throws {
        let data = try sampleReport().jsonData()
        let root = try JSONSerialization.jsonObject(with: data)
        let fractionPaths = [
            "results.heldout.summary.before.asr.mean",
            "results.heldout.summary.after.asr.mean",
            "results.heldout.summary.after.asr.std",
            "results.heldout.summary.after.asr.min",
            "results.heldout.summary.after.asr.max",
            "results.heldout.summary.before.other_accuracy.mean",
            "results.heldout.summary.after.other_accuracy.mean",
            "results.heldout.summary.after.target_accuracy.mean",
            "results.heldout.summary.other_accuracy_drop.mean",
            "results.heldout.victims[0].after.per_class[0]",
            "results.heldout.victims[2].after.per_class[2]",
            "results.heldout.victims[1].before.accuracy",
            "results.known.summary.after.asr.mean",
            "baselines.random_real.summary.after.asr.mean",
            "baselines.class_means.summary.after.other_accuracy.mean",
        ]
        for path in fractionPaths {
            let number = value(at: path, in: root) as? Double
            #expect(number != nil, "missing or non-numeric \(path)")
            if let number { #expect((0...1).contains(number), "\(path) = \(number) outside [0, 1]") }
        }
        #expect(value(at: "results.heldout.summary.after.asr.mean", in: root) as? Double == 0.75)
        #expect(value(at: "baselines.random_real.summary.after.asr.mean", in: root) as? Double == 0.25)
        #expect(value(at: "schema", in: root) as? String == "amnesia.report/1")
        #expect(value(at: "threat_model.atlas", in: root) as? [String] == ["AML.T0020", "AML.T0018.000"])
        #expect(value(at: "threat_model.knowledge", in: root) as? String == "fixed")
        #expect(value(at: "threat_model.forget_name", in: root) as? String == "airplane")
        #expect(value(at: "results.heldout.victims[0].role", in: root) as? String == "heldout")
        #expect(value(at: "results.heldout.victims[0].after.confusion", in: root) as? [[Int]] != nil)
        #expect(value(at: "dataset.class_names", in: root) as? [String] == ["airplane", "automobile", "bird"])
        #expect(value(at: "poison.learned_step_sizes", in: root) as? [Double] == [0.0123])
        #expect(value(at: "poison.grid_png", in: root) as? String == "poison_grid.png")
        #expect(value(at: "run.timings_seconds.craft", in: root) as? Double == 12.5)
        #expect(value(at: "run.amnesia_version", in: root) as? String == "0.1.0")
        #expect((value(at: "robustness", in: root) as? [String: Any])?["asr_step_x0.5"] != nil)
        #expect(value(at: "results.crafting", in: root) == nil)
        let text = try #require(String(data: data, encoding: .utf8))
        #expect(text.contains("\n  \"baselines\""), "pretty-printed with sorted keys")
    }

    @Test("JSON round trip is lossless, including a 64-bit seed")
    func roundTrip() throws {
        let report = sampleReport(seed: UInt64.max)
        let decoded = try AttackReport(jsonData: try report.jsonData())
        #expect(decoded == report)
        #expect(decoded.run.seed == UInt64.max)
        // Encoding is deterministic: same value, same bytes.
        #expect(try decoded.jsonData() == report.jsonData())
    }

    @Test("An unknown or missing schema is refused with a clear message")
    func wrongSchema() throws {
        var report = sampleReport()
        report.schema = "amnesia.report/99"
        let data = try report.jsonData()
        #expect(throws: ReportError.unsupportedSchema(found: "amnesia.report/99", expected: "amnesia.report/1")) {
            try AttackReport(jsonData: data)
        }
        do {
            _ = try AttackReport(jsonData: data)
        } catch {
            #expect("\(error)".contains("amnesia.report/99") && "\(error)".contains("amnesia.report/1"))
        }
        #expect(throws: ReportError.unsupportedSchema(found: nil, expected: "amnesia.report/1")) {
            try AttackReport(jsonData: Data("{\"run\": {}}".utf8))
        }
        // An audit is not an attack report, and vice versa.
        let audit = try sampleAudit().jsonData()
        #expect(throws: ReportError.unsupportedSchema(found: "amnesia.audit/1", expected: "amnesia.report/1")) {
            try AttackReport(jsonData: audit)
        }
    }

    @Test("A missing field is reported with its JSON path")
    func missingFieldPath() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: sampleReport().jsonData()) as? [String: Any])
        var run = try #require(object["run"] as? [String: Any])
        run.removeValue(forKey: "seed")
        object["run"] = run
        let data = try JSONSerialization.data(withJSONObject: object)
        do {
            _ = try AttackReport(jsonData: data)
            Issue.record("decoding should fail without run.seed")
        } catch let error as ReportError {
            guard case let .malformedJSON(path, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(path == "run.seed")
            #expect(error.description.contains("run.seed"))
        }
    }

    @Test("A NaN metric is refused at encoding time, naming where it is")
    func nonFinite() throws {
        var report = sampleReport()
        report.results.heldout.summary.after.asr.mean = .nan
        do {
            _ = try report.jsonData()
            Issue.record("encoding NaN should fail")
        } catch let error as ReportError {
            guard case let .nonFiniteNumber(path) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(path.contains("asr"), "path was \(path)")
        }
    }

    @Test("The threat-model paragraph states the attack in plain words")
    func threatSummary() {
        let tm = sampleReport().threatModel
        #expect(tm.summary.contains("one gradient-descent step"))
        #expect(tm.summary.contains("30 synthetic images"))
        #expect(tm.summary.contains("class 0 (airplane)") && tm.summary.contains("class 1 (automobile)"))
        #expect(tm.summary.contains("AML.T0020 (Poison Training Data)"))
        let distribution = ThreatModel(knowledge: .distribution, forgetClass: 3, targetClass: 5, forgetName: "cat",
                                       targetName: "dog", poisonImages: 100, steps: 2, epochs: 3)
        #expect(distribution.summary.contains("6 gradient-descent steps"))
        #expect(distribution.summary.contains("held-out victims that crafting never saw"))
    }
}
