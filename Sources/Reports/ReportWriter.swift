import Formats
import Foundation
import Results

/// Writes a run's report files, each atomically: an interrupted run never leaves a
/// half-written file, only the previous version or the new one.
public enum ReportWriter {
    /// The machine-readable attack report; the source every other file is rendered from.
    public static let jsonName = "report.json"
    /// The Markdown rendering of `report.json`.
    public static let markdownName = "report.md"
    /// The self-contained HTML rendering of `report.json`.
    public static let htmlName = "report.html"
    /// One row per victim per set.
    public static let csvName = "victims.csv"
    /// The machine-readable audit.
    public static let auditJSONName = "audit.json"
    /// The Markdown rendering of `audit.json`.
    public static let auditMarkdownName = "audit.md"
    /// The self-contained HTML rendering of `audit.json`.
    public static let auditHTMLName = "audit.html"

    /// Writes `report.json`, `report.md`, `report.html` and `victims.csv` into `directory`
    /// (created if needed), plus every image in `images` under its name, so that `rerender`
    /// can rebuild the HTML later from the directory alone.
    ///
    /// The JSON is encoded first: if it fails (e.g. a NaN metric) nothing is written.
    /// - Throws: `ReportError.invalidImageName` for a name that is not a plain file name,
    ///   `ReportError.nonFiniteNumber`, or `ReportError.ioFailed`.
    public static func write(report: AttackReport, images: [String: Data] = [:], to directory: URL) throws {
        for name in images.keys { try validateFileName(name) }
        let json = try report.jsonData()
        let markdown = MarkdownReport.render(report)
        let html = HTMLReport.render(report, images: images)
        let csv = CSVReport.victims(report)
        for name in images.keys.sorted() {
            if let data = images[name] { try AtomicFile.write(data, to: directory.appendingPathComponent(name)) }
        }
        try AtomicFile.write(Data(csv.utf8), to: directory.appendingPathComponent(csvName))
        try AtomicFile.write(Data(markdown.utf8), to: directory.appendingPathComponent(markdownName))
        try AtomicFile.write(Data(html.utf8), to: directory.appendingPathComponent(htmlName))
        // Last: a present report.json means the derived files were written too.
        try AtomicFile.write(json, to: directory.appendingPathComponent(jsonName))
    }

    /// Re-renders `report.md`, `report.html` and `victims.csv` from `report.json` in `directory`
    /// (this backs `amnesia report RUN_DIR`). The PNG named by `poison.grid_png` is read from the
    /// same directory (by its last path component) and embedded; if it is missing the HTML says so.
    /// - Throws: `ReportError.missingFile` if there is no report.json, or the decoding errors of
    ///   `AttackReport(jsonData:)`.
    public static func rerender(directory: URL) throws {
        let jsonURL = directory.appendingPathComponent(jsonName)
        guard FileManager.default.fileExists(atPath: jsonURL.path) else {
            throw ReportError.missingFile(
                path: jsonURL.path,
                hint: "pass the run directory that `amnesia run` or `amnesia evaluate` wrote (it holds report.json)")
        }
        let report = try AttackReport(jsonData: try read(jsonURL))
        var images: [String: Data] = [:]
        if let grid = report.poison.gridPNG, !grid.isEmpty {
            let fileName = (grid as NSString).lastPathComponent
            if (try? validateFileName(fileName)) != nil {
                let url = directory.appendingPathComponent(fileName)
                if FileManager.default.fileExists(atPath: url.path) {
                    images[grid] = try read(url)
                }
            }
        }
        try AtomicFile.write(Data(CSVReport.victims(report).utf8), to: directory.appendingPathComponent(csvName))
        try AtomicFile.write(Data(MarkdownReport.render(report).utf8), to: directory.appendingPathComponent(markdownName))
        try AtomicFile.write(Data(HTMLReport.render(report, images: images).utf8),
                            to: directory.appendingPathComponent(htmlName))
    }

    /// Writes `audit.json`, `audit.md` and `audit.html` into `directory` (created if needed).
    public static func write(audit: AuditReport, to directory: URL) throws {
        let json = try audit.jsonData()
        try AtomicFile.write(Data(MarkdownReport.render(audit).utf8), to: directory.appendingPathComponent(auditMarkdownName))
        try AtomicFile.write(Data(HTMLReport.render(audit).utf8), to: directory.appendingPathComponent(auditHTMLName))
        try AtomicFile.write(json, to: directory.appendingPathComponent(auditJSONName))
    }

    // MARK: helpers

    /// A name must stay inside the report directory.
    private static func validateFileName(_ name: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\\"),
              !name.contains("\0"), !name.hasPrefix(".") else {
            throw ReportError.invalidImageName(name)
        }
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw ReportError.ioFailed(path: url.path, detail: error.localizedDescription)
        }
    }
}
