import ArgumentParser
import Defaults

/// The `amnesia` command: data-poisoning evaluation by dataset distillation.
@main
struct Amnesia: ParsableCommand {
    static let version = versionText

    static let configuration = CommandConfiguration(
        commandName: "amnesia",
        abstract: "Craft and evaluate malicious distilled data that makes a classifier forget a class.",
        discussion: """
            Amnesia learns a few synthetic images and a step size such that one gradient step on \
            them makes a trained classifier predict class K as class T, while it keeps the other \
            classes. Data flows one way: spec → victim zoo → craft → poison set → evaluate → report.

            Specs: \(specArgumentHelp)

            Folders: \(Locations.explanation) Here the defaults are \(Locations.current.victims) and \(Locations.current.reports) (\(Locations.current.reason)).
            """,
        version: version,
        subcommands: [Run.self, Distill.self, LinearCaseCommand.self, VictimsCommand.self, Craft.self, Evaluate.self, Export.self, Report.self, AuditCommand.self, SpecsCommand.self, Bench.self])
}
