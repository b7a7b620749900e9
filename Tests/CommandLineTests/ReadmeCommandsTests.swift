import Foundation
import Testing

/// The README's command table against the binary's own `--help`: every command the tool has
/// (and every `victims` subcommand) is in the table, and the table names none it lacks.
@Suite("README and --help agree")
struct ReadmeCommandsTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The subcommand names of a `--help` page (the first word of each indented line under SUBCOMMANDS).
    static func subcommands(_ arguments: [String]) throws -> Set<String> {
        let help = try amnesia(arguments + ["--help"], in: FileManager.default.temporaryDirectory).stdout
        let section = help.components(separatedBy: "SUBCOMMANDS:").dropFirst().first ?? ""
        return Set(section.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let word = line.split(separator: " ").first,
                  word.allSatisfy({ $0.isLowercase || $0 == "-" }) else { return nil }   // not "See 'amnesia help …'"
            return String(word)
        })
    }

    /// The commands the README's "Commands" table names, as "name" or "victims name".
    static func tableCommands() throws -> Set<String> {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let table = text.components(separatedBy: "## Commands").dropFirst().first?.components(separatedBy: "\n## ").first ?? ""
        var names = Set<String>()
        for row in table.split(separator: "\n") where row.hasPrefix("| `amnesia ") {
            let words = row.dropFirst("| `amnesia ".count).split(whereSeparator: { $0 == " " || $0 == "`" }).map(String.init)
            guard let first = words.first else { continue }
            let grouped = first == "victims" || first == "specs"
            names.insert(grouped ? "\(first) \(words.dropFirst().first ?? "")" : first)
            // "`victims list` / `show ZOO`" style rows name a second subcommand after a slash.
            if grouped, let slash = row.range(of: "/ `") {
                let second = row[slash.upperBound...].split(whereSeparator: { $0 == " " || $0 == "`" }).first.map(String.init)
                if let second { names.insert("\(first) \(second)") }
            }
        }
        return names
    }

    @Test("every command and victims/specs subcommand of --help is in the README's table, and nothing else")
    func commandTable() throws {
        let top = try Self.subcommands([]).subtracting(["help"])
        let nested = try ["victims", "specs"].flatMap { group in
            try Self.subcommands([group]).subtracting(["help"]).map { "\(group) \($0)" }
        }
        let expected = top.subtracting(["victims", "specs"]).union(nested)
        let table = try Self.tableCommands()
        #expect(expected.subtracting(table).isEmpty, "missing from the README: \(expected.subtracting(table).sorted())")
        #expect(table.subtracting(expected).isEmpty, "in the README but not in --help: \(table.subtracting(expected).sorted())")
    }
}
