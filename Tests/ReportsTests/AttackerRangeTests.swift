import Foundation
import Reports
import Results
import ResultsFixtures
import Testing

@Suite("An audit of a model shows gray-box, white-box and the oracle per pair")
struct AttackerRangeTests {
    /// The model of pair 0→1 read against its oracle (every K image moved to T): stepped on
    /// a poison that moves `kAsT` of its 4 K images.
    static func model(kAsT: Int) -> VictimResult {
        var result = victim("imported-model", role: .heldout, seed: 0, kAsT: kAsT, otherErrors: 0)
        result.oracle = victimMetrics(kAsT: 4, otherErrors: 0)
        return result
    }

    /// Pair 0→1 audited on one model: gray-box ASR 50%, white-box 75%, oracle 100%.
    static func audit() -> AuditReport {
        let gray = VictimSetSummary(victims: [model(kAsT: 2)], forget: 0)
        return AuditReport(run: RunInfo(name: "audit-model", created: "2025-01-01T00:00:00Z", amnesiaVersion: "0.1.0", seed: 7),
                           classNames: ["zero", "one", "two"],
                           pairs: [AuditPair(forget: 0, target: 1, summary: gray,
                                             whiteBox: AuditWhiteBox([model(kAsT: 3)], forget: 0))])
    }

    @Test("the white-box bound reads against the gray-box cell's oracle and survives audit.json")
    func json() throws {
        let audit = Self.audit()
        let pair = try #require(audit.pairs.first)
        let white = try #require(pair.whiteBox)
        #expect(white.victims == ["imported-model"] && white.asr.mean == 0.75)
        #expect(white.oracle?.oracleASR == pair.oracle?.oracleASR && pair.oracle?.oracleASR.mean == 1)
        #expect(white.oracle?.meanASRRatio == 0.75 && pair.oracle?.meanASRRatio == 0.5)
        let data = try audit.jsonData()
        #expect(try AuditReport(jsonData: data) == audit)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let pairs = try #require(object["pairs"] as? [[String: Any]])
        let saved = try #require(pairs.first?["white_box"] as? [String: Any])
        #expect(Set(saved.keys) == ["victims", "asr", "other_accuracy_drop", "oracle"])
    }

    @Test("Markdown, HTML and matrix.csv show the three columns, each attacker with its share of the oracle")
    func rendered() throws {
        let audit = Self.audit()
        let md = MarkdownFormat().render(ReportPage(audit))
        #expect(md.contains("## Gray-box, white-box and the oracle"))
        #expect(md.contains("| K | T | Gray-box: knows only the recipe | White-box: crafted on your weights | Oracle: unlimited poisoning |"))
        #expect(md.contains("| zero | one | 50.0% (×0.50 of oracle) | 75.0% (×0.75 of oracle) | 100.0% | 0.0 pp / 0.0 pp / 0.0 pp |"), "\(md)")
        let html = HTMLFormat().render(ReportPage(audit))
        #expect(html.contains("<h2>Gray-box, white-box and the oracle</h2>"))
        #expect(html.contains("<td>75.0% (×0.75 of oracle)</td>"), "\(html)")
        #expect(html.contains("white-box (crafted on the model&#39;s weights): ASR 75.0% ± 0.0, 0.75 of the oracle&#39;s"))

        let rows = CSVReport.matrix(audit).split(separator: "\n")
        #expect(rows[0].hasSuffix("other_drop_count,oracle_asr_mean,asr_over_oracle,white_box_asr_mean,white_box_asr_over_oracle,white_box_other_drop_mean"))
        #expect(rows[1].hasSuffix(",1.0,0.5,0.75,0.75,0.0"), "\(rows[1])")
    }

    @Test("an audit without white-box bounds or oracles keeps its former report and matrix columns")
    func withoutWhiteBox() {
        let audit = sampleAudit()
        #expect(!audit.hasWhiteBox)
        #expect(!MarkdownFormat().render(ReportPage(audit)).contains("White-box"))
        #expect(CSVReport.matrix(audit).split(separator: "\n")[0].hasSuffix("other_drop_max,other_drop_count"))
    }
}
