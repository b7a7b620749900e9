import Foundation
import Reports
import Results
import ResultsFixtures
import Testing
import TestSupport

@Suite("ReportWriter")
struct WriterTests {
    @Test("write produces report.json, report.md, report.html, victims.csv and the PNG, with no temp files left")
    func writesAllFiles() throws {
        let dir = try temporaryDirectory().appendingPathComponent("run", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let report = sampleReport()
        try ReportWriter.write(report: report, images: ["poison_grid.png": tinyPNG], to: dir)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["poison_grid.png", "report.html", "report.json", "report.md", "victims.csv"])
        #expect(try AttackReport(jsonData: Data(contentsOf: dir.appendingPathComponent("report.json"))) == report)
        #expect(try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8) == MarkdownFormat().render(ReportPage(report)))
        #expect(try String(contentsOf: dir.appendingPathComponent("victims.csv"), encoding: .utf8) == CSVReport.victims(report))
        #expect(try Data(contentsOf: dir.appendingPathComponent("poison_grid.png")) == tinyPNG)
        // Writing again replaces the files in place.
        try ReportWriter.write(report: report, images: ["poison_grid.png": tinyPNG], to: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).count == 5)
    }

    @Test("rerender rebuilds report.md and report.html (with the grid PNG) from report.json")
    func rerender() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = sampleReport()
        try ReportWriter.write(report: report, images: ["poison_grid.png": tinyPNG], to: dir)
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        for name in ["report.md", "report.html", "victims.csv"] {
            try FileManager.default.removeItem(at: dir.appendingPathComponent(name))
        }
        try ReportWriter.rerender(directory: dir)
        #expect(try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8) == MarkdownFormat().render(ReportPage(report)))
        let rebuilt = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(rebuilt == html)
        #expect(rebuilt.contains("data:image/png;base64,"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("victims.csv").path))
    }

    @Test("rerender of a directory without report.json says what to pass")
    func rerenderMissing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            try ReportWriter.rerender(directory: dir)
            Issue.record("rerender should fail without report.json")
        } catch let error as ReportError {
            guard case .missingFile = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.contains("report.json"))
        }
    }

    @Test("An image name that would escape the directory is refused before anything is written")
    func invalidImageName() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: ReportError.invalidImageName("../grid.png")) {
            try ReportWriter.write(report: sampleReport(), images: ["../grid.png": tinyPNG], to: dir)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("A NaN metric aborts the write before any file is touched")
    func nanWritesNothing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = sampleReport()
        report.results.heldout.victims[0].after.asr = .infinity
        #expect(throws: ReportError.self) { try ReportWriter.write(report: report, to: dir) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("write(audit:) writes audit.json, audit.md, audit.html and matrix.csv (one row per pair)")
    func writesAudit() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ReportWriter.write(audit: sampleAudit(), to: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["audit.html", "audit.json", "audit.md", "matrix.csv"])
        #expect(try AuditReport(jsonData: Data(contentsOf: dir.appendingPathComponent("audit.json"))) == sampleAudit())
        let rows = try String(contentsOf: dir.appendingPathComponent("matrix.csv"), encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 1 + sampleAudit().pairs.count)
        #expect(rows[0].hasPrefix("forget,target,forget_name,target_name,asr_mean,asr_std,asr_min,asr_max,asr_count,other_drop_mean"))
        let first = try #require(sampleAudit().pairs.first)
        #expect(rows[1].hasPrefix("\(first.forget),\(first.target),") && rows[1].contains(",\(first.asr.mean),"))
    }
}
