import Foundation
import Reports
import Results
import ResultsFixtures
import Testing

/// The case name of a section, e.g. "perClass".
private func kind(_ section: ReportSection) -> String {
    String("\(section)".prefix { $0 != "(" })
}

/// A format in a dozen lines: one line per section kind (what adding a format takes).
private struct OutlineFormat: ReportFormat {
    let fileExtension = "txt"
    func render(_ page: ReportPage) -> String {
        ([page.title] + page.sections.map(kind)).joined(separator: "\n")
    }
}

@Suite("Report pages and formats")
struct PageTests {
    @Test("An attack page lists its sections once, in one order, for every format")
    func attackOrder() {
        #expect(ReportPage(sampleReport()).sections.map(kind) == [
            "attackSummary", "threatModel", "headline", "poison", "charts", "perClass", "victims", "baselines",
            "robustness", "reproduce",
        ])
        var quiet = sampleReport()
        quiet.robustness = nil
        #expect(!ReportPage(quiet).sections.map(kind).contains("robustness"))
    }

    @Test("An audit page: summary, threat model, matrix, ranked pairs (when any has data), reproduce")
    func auditOrder() {
        #expect(ReportPage(sampleAudit()).sections.map(kind) == ["auditSummary", "threatModel", "matrix", "rankedPairs", "reproduce"])
        var empty = sampleAudit()
        empty.pairs = []
        #expect(ReportPage(empty).sections.map(kind) == ["auditSummary", "threatModel", "matrix", "reproduce"])
    }

    @Test("A new format conforms to ReportFormat and draws any page")
    func newFormat() {
        let outline = OutlineFormat().render(ReportPage(sampleAudit()))
        #expect(outline.hasPrefix("Amnesia robustness audit: audit-lenet-7c1e\nauditSummary\n"))
        #expect(ReportWriter.formats.map(\.fileExtension) == ["md", "html"])
    }
}
