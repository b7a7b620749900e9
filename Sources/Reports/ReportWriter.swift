import Formats
import Foundation
import Results

/// Writes a run's report files, each atomically (`AtomicFile`): an interrupted run never
/// leaves a half-written file, only the previous version or the new one.
public enum ReportWriter {
    /// The human-readable formats every report and audit is rendered in.
    public static let formats: [any ReportFormat] = [MarkdownFormat(), HTMLFormat()]

    /// The machine-readable attack report; the source every other file is rendered from.
    public static let jsonName = "report.json"
    /// The self-contained HTML rendering of `report.json`.
    public static let htmlName = "report.html"
    /// One row per victim per set.
    public static let csvName = "victims.csv"
    /// The machine-readable audit.
    public static let auditJSONName = "audit.json"
    /// The self-contained HTML rendering of `audit.json`.
    public static let auditHTMLName = "audit.html"
    /// The audit's matrix as CSV: results only, byte-identical however the audit was sharded.
    public static let auditMatrixName = "matrix.csv"

    /// Writes `report.json`, `victims.csv` and `report.<ext>` in every format into `directory`
    /// (created if needed), plus every image in `images` under its name, so that `rerender`
    /// can rebuild the HTML later from the directory alone.
    ///
    /// The JSON is encoded first: if it fails (e.g. a NaN metric) nothing is written.
    /// - Throws: `ReportError.invalidImageName` for a name that is not a plain file name,
    ///   `ReportError.nonFiniteNumber`, or `FormatError` naming the file that could not be written.
    public static func write(report: AttackReport, images: [String: Data] = [:], to directory: URL) throws {
        for name in images.keys { try validateFileName(name) }
        let json = try report.jsonData()
        for name in images.keys.sorted() {
            if let data = images[name] { try AtomicFile.write(data, to: directory.appendingPathComponent(name)) }
        }
        try writeRenderings(of: report, images: images, to: directory)
        // Last: a present report.json means the derived files were written too.
        try AtomicFile.write(json, to: directory.appendingPathComponent(jsonName))
    }

    /// Writes a distillation's `report.json` and `report.<ext>` in every format into
    /// `directory`, embedding `images` (the distilled grid), JSON last as for an attack.
    public static func write(distill report: DistillReport, images: [String: Data] = [:], to directory: URL) throws {
        for name in images.keys { try validateFileName(name) }
        let json = try report.jsonData()
        try writePage(ReportPage(report, images: images), named: "report", to: directory)
        try AtomicFile.write(json, to: directory.appendingPathComponent(jsonName))
    }

    /// Re-renders `victims.csv` and `report.<ext>` in every format from `report.json` in
    /// `directory` (this backs `amnesia report RUN_DIR`). The PNG named by `poison.grid_png` is
    /// read from the same directory (by its last path component) and embedded; if it is
    /// missing the HTML says so.
    /// - Throws: `ReportError.missingFile` if there is no report.json, or the decoding errors of
    ///   `AttackReport(jsonData:)`.
    public static func rerender(directory: URL) throws {
        let jsonURL = directory.appendingPathComponent(jsonName)
        guard FileManager.default.fileExists(atPath: jsonURL.path) else {
            throw ReportError.missingFile(
                path: jsonURL.path,
                hint: "pass the run directory that `amnesia run` or `amnesia evaluate` wrote (it holds report.json)")
        }
        try OutputFolder.prepare(directory, option: nil)  // a run folder that is a link is refused
        let data = try read(jsonURL)
        if let distill = try? DistillReport(jsonData: data) {
            try writePage(ReportPage(distill, images: try gridImage(distill.poison, in: directory)), named: "report", to: directory)
            return
        }
        let report: AttackReport
        do { report = try AttackReport(jsonData: data) } catch {
            throw ReportError.unreadableReport(path: jsonURL.path, reason: "\(error)")
        }
        let images = try gridImage(report.poison, in: directory)
        try writeRenderings(of: report, images: images, to: directory)
    }

    /// Writes `audit.json`, `matrix.csv` and `audit.<ext>` in every format into `directory`
    /// (created if needed).
    public static func write(audit: AuditReport, to directory: URL) throws {
        let json = try audit.jsonData()
        try AtomicFile.write(Data(CSVReport.matrix(audit).utf8), to: directory.appendingPathComponent(auditMatrixName))
        try writePage(ReportPage(audit), named: "audit", to: directory)
        try AtomicFile.write(json, to: directory.appendingPathComponent(auditJSONName))
    }

    // MARK: helpers

    /// The PNG named by `poison.grid_png`, read from `directory` (by its last path
    /// component), keyed by that name; empty when it is missing (the HTML then says so).
    private static func gridImage(_ poison: PoisonInfo, in directory: URL) throws -> [String: Data] {
        guard let grid = poison.gridPNG, !grid.isEmpty else { return [:] }
        let fileName = (grid as NSString).lastPathComponent
        guard (try? validateFileName(fileName)) != nil else { return [:] }
        let url = directory.appendingPathComponent(fileName)
        return FileManager.default.fileExists(atPath: url.path) ? [grid: try read(url)] : [:]
    }

    /// Everything derived from `report.json`: the CSV and the page in every format.
    private static func writeRenderings(of report: AttackReport, images: [String: Data], to directory: URL) throws {
        try AtomicFile.write(Data(CSVReport.victims(report).utf8), to: directory.appendingPathComponent(csvName))
        try writePage(ReportPage(report, images: images), named: "report", to: directory)
    }

    private static func writePage(_ page: ReportPage, named stem: String, to directory: URL) throws {
        for format in formats {
            try AtomicFile.write(Data(format.render(page).utf8),
                                 to: directory.appendingPathComponent("\(stem).\(format.fileExtension)"))
        }
    }

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
