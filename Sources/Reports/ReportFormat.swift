/// A human-readable rendering of a report page: Markdown, HTML, …
///
/// A new format is one new file conforming to this protocol (drawing each `ReportSection`)
/// and one entry in `ReportWriter.formats`. `report.json` (the model's own coding) and
/// `victims.csv` (one row per victim) export data rather than draw a page, so they are not
/// formats of this kind.
public protocol ReportFormat: Sendable {
    /// The file extension of the rendered files: `report.<ext>`, `audit.<ext>`.
    var fileExtension: String { get }
    /// The page as one document.
    func render(_ page: ReportPage) -> String
}
