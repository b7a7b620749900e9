import Foundation
import Reports
import Results
import ResultsFixtures
import Testing

/// `src=` / `href=` attributes of real tags pointing at the network (quoted or not, any case).
/// Escaped text such as `&lt;img src=https://…&gt;` is not a tag and does not count.
func externalReferences(in html: String) -> [String] {
    let pattern = #"(?i)<[a-z][^<>]*\s(src|href)\s*=\s*["']?\s*(https?:|//)"#
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return ["bad regex"] }
    let range = NSRange(html.startIndex..., in: html)
    return regex.matches(in: html, range: range).compactMap { Range($0.range, in: html).map { String(html[$0]) } }
}

@Suite("Markdown, HTML and CSV renderers")
struct RenderTests {
    @Test("HTML is one self-contained file: inline SVG charts, embedded PNG, no network references")
    func htmlSelfContained() {
        let html = HTMLFormat().render(ReportPage(sampleReport(), images: ["poison_grid.png": tinyPNG]))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 4, "per-class, per-victim ASR, confusion, baselines")
        #expect(html.contains("data:image/png;base64,\(tinyPNG.base64EncodedString())"))
        #expect(externalReferences(in: html).isEmpty, "\(externalReferences(in: html))")
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.lowercased().contains("<link"))
        #expect(html.contains("<style>"))
        // Headline verdict and numbers.
        // Mean ASR 75% with a 5.6 pp mean drop (> 5 pp): works, but with collateral damage.
        #expect(html.contains("<h1>Attack works but causes collateral damage</h1>"))
        #expect(html.contains("0.0% → 75.0%"))
        // Confusion heatmap: mean class-0 row after the step is 1, 3, 0 (over 3 victims: 3/3, 9/3).
        #expect(html.contains("true airplane, predicted automobile: mean 3 images (75.0% of the row)"))
        // Baseline comparison lists every method.
        #expect(html.contains("random_real") && html.contains("class_means") && html.contains("amnesia (learned)"))
    }

    @Test("The regex that polices external references does catch them")
    func externalReferenceDetector() {
        #expect(externalReferences(in: #"<img src="https://x/y.png">"#).count == 1)
        #expect(externalReferences(in: #"<a HREF='http://x'>"#).count == 1)
        #expect(externalReferences(in: #"<img alt="x" src=//cdn/x.png>"#).count == 1)
        #expect(externalReferences(in: #"<img src="data:image/png;base64,AAA">"#).isEmpty)
        #expect(externalReferences(in: #"<td>&lt;img src=https://evil&gt;</td>"#).isEmpty)
    }

    @Test("HTML escapes hostile text from the data")
    func htmlEscapes() {
        let hostile = "<script>alert(1)</script>"
        var report = sampleReport(classNames: ["airplane", hostile, "bird\" onload=\"x"])
        report.results.heldout.victims[0].id = "<img src=https://evil>"
        report.config["<b>key</b>"] = "value & more"
        let html = HTMLFormat().render(ReportPage(report, images: [:]))
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("bird\" onload"))
        #expect(!html.contains("<img src=https://evil>"))
        #expect(html.contains("&lt;img src=https://evil&gt;"))
        #expect(externalReferences(in: html).isEmpty)
        #expect(html.contains("value &amp; more"))
        // Without the grid PNG the page says so instead of showing a broken image.
        #expect(html.contains("was not available"))
        #expect(!html.contains("data:image/png"))
    }

    @Test("Non-PNG bytes are not embedded as PNG")
    func nonPNGLeftOut() {
        let html = HTMLFormat().render(ReportPage(sampleReport(), images: ["poison_grid.png": Data("GIF89a".utf8)]))
        #expect(!html.contains("data:image/png"))
        #expect(html.contains("is not a PNG file"))
    }

    @Test("Markdown states the threat model with ATLAS ids and the headline ASR figures")
    func markdown() {
        let md = MarkdownFormat().render(ReportPage(sampleReport()))
        #expect(md.contains("AML.T0020 (Poison Training Data)"))
        #expect(md.contains("AML.T0018.000"))
        #expect(md.contains("ASR 0.0% → 75.0%"))
        #expect(md.contains("mean 75.0% ± 20.4, min 50.0%, max 100.0%"))
        #expect(md.contains("Other-class accuracy drop (collateral damage): 5.6 ± 7.9 pp"))
        #expect(md.contains("| 0 | airplane (K) |"))
        #expect(md.contains("| 1 | automobile (T) |"))
        #expect(md.contains("| heldout | lenet-s102 | heldout | 102 |"))
        #expect(md.contains("| random\\_real | random real images of K relabelled T | 0.01 | 25.0% ± 0.0 |"))
        #expect(md.contains("- Seed: 42"))
        #expect(md.contains("| craft | 12.5 s |"))
        #expect(md.contains("| attack.forget | 0 |"))
        #expect(md.contains("![Poison images](poison_grid.png)"))
        #expect(md.contains("| asr\\_step\\_x0.5 | 0.375 ± 0.125 | 0.25 | 0.5 | 2 |"))
    }

    @Test("Markdown escapes hostile class names")
    func markdownEscapes() {
        let md = MarkdownFormat().render(ReportPage(sampleReport(classNames: ["a|b", "<script>x</script>", "c"])))
        #expect(!md.contains("<script>"))
        #expect(md.contains("\\<script\\>"))
        #expect(md.contains("a\\|b"))
    }

    @Test("CSV: a header plus one row per victim per set, with per-class columns")
    func csv() throws {
        let report = sampleReport()
        let csv = CSVReport.victims(report)
        let lines = csv.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(csv.hasSuffix("\n"))
        // 3 held-out + 1 known + 1 per baseline (2).
        #expect(lines.count == 1 + 3 + 1 + 2)
        #expect(lines[0] == "set,id,role,seed,accuracy_before,accuracy_after,asr_before,asr_after,"
                + "other_accuracy_before,other_accuracy_after,oracle_asr,oracle_other_accuracy,after_airplane,after_automobile,after_bird")
        let columns = lines[0].split(separator: ",").count
        for line in lines.dropFirst() { #expect(line.split(separator: ",", omittingEmptySubsequences: false).count == columns) }
        let row = lines[2].split(separator: ",").map(String.init)    // lenet-s102: ASR 3/4, one class-2 error
        #expect(row[0] == "heldout" && row[1] == "lenet-s102" && row[2] == "heldout" && row[3] == "102")
        #expect(Double(row[6]) == 0 && Double(row[7]) == 0.75)
        #expect(Double(row[9]) == 5.0 / 6.0)
        #expect(Double(row[10]) == 0.25 && Double(row[12]) == 2.0 / 3.0)
        #expect(lines[4].hasPrefix("known,lenet-s1,known,1,"))
        #expect(lines[5].hasPrefix("baseline:class_means,") && lines[6].hasPrefix("baseline:random_real,"))
    }

    @Test("CSV quotes commas and quotes, and defuses spreadsheet formulas")
    func csvQuoting() {
        var report = sampleReport(classNames: ["a,b", "say \"hi\"", "=cmd()"])
        report.results.heldout.victims[0].id = "@SUM(A1)"
        let header = CSVReport.victims(report).split(separator: "\n")[0]
        #expect(header.hasSuffix(",\"after_a,b\",\"after_say \"\"hi\"\"\",after_=cmd()"))
        #expect(CSVReport.victims(report).contains("\nheldout,'@SUM(A1),heldout,101,"))
    }

    @Test("Audit Markdown and HTML draw the K×T matrix with a blank diagonal and the collateral drop")
    func audit() throws {
        let audit = sampleAudit()
        #expect(try AuditReport(jsonData: audit.jsonData()) == audit)
        #expect(throws: ReportError.unsupportedSchema(found: "amnesia.report/1", expected: "amnesia.audit/1")) {
            try AuditReport(jsonData: sampleReport().jsonData())
        }
        let md = MarkdownFormat().render(ReportPage(audit))
        #expect(md.contains("| **zero** |  | █ 85% (−2.0 pp) | · |"))
        #expect(md.contains("| **two** | ░ 20% (−10.0 pp) | · |  |"))
        #expect(md.contains("AML.T0020"))
        #expect(md.contains("**Easiest pair: zero → one, ASR 85.0%**: 1 of 2 audited pairs"))
        #expect(md.contains("### Timings\n\nNo timings recorded."))
        let html = HTMLFormat().render(ReportPage(audit))
        #expect(html.contains("<svg"))
        #expect(html.contains("K zero → T one: ASR 85.0% ± 5.0 (min 80.0%, max 90.0%, n = 2); "
                              + "other-class accuracy drop 2.0 ± 1.0 pp (worst 3.0 pp)"))
        #expect(html.contains(">85%</text>") && html.contains(">−2.0</text>"))
        #expect(html.contains("Easiest pair: zero → one, ASR 85.0%"))
        #expect(externalReferences(in: html).isEmpty && !html.contains("http"))
        // Only the 3 diagonal cells are blank; unaudited cells say so.
        #expect(html.components(separatedBy: "class=\"blank\"").count - 1 == 3)
        #expect(html.contains("K two → T one: not audited"))
    }
}
