import ArgumentParser
import Defaults
import Distillation
import Foundation
import Victims

/// How a spec argument (and a spec's zoo_spec and foreign_zoo_spec) is found, for `--help`.
let specArgumentHelp = """
    A spec is a file path, relative to the current folder; when no such file exists, the \
    built-in spec of that name is used (`amnesia specs list`; e.g. \
    attacks/fashion-tshirt-to-trouser.yaml, or just fashion-tshirt-to-trouser). A spec's \
    zoo_spec and foreign_zoo_spec are found the same way, so the built-in attacks bring their \
    built-in zoos from any folder.
    """

/// The attack spec `reference` names: a file, else a built-in spec.
func loadAttackSpec(_ reference: String) throws -> AttackSpec {
    let source = try SpecSource(reference)
    return try AttackSpec.parse(yaml: source.text, file: source.file)
}

/// The zoo spec `reference` names (a file, else a built-in spec), its data_dir replaced by
/// `dataDir` when given (made absolute, so the zoo finds its data from any folder later).
func loadZooSpec(_ reference: String, dataDir: String? = nil) throws -> ZooSpec {
    let source = try SpecSource(reference)
    var spec = try ZooSpec.parse(yaml: source.text, file: source.file)
    if let dataDir { spec.dataDir = URL(fileURLWithPath: dataDir).path }
    return spec
}

struct SpecsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "specs",
        abstract: "List and print the built-in attack, zoo and distillation specs.",
        discussion: """
            \(specArgumentHelp)
            To change one, print it into a file, edit it and pass the file:
              amnesia specs show fashion-tshirt-to-trouser > my-attack.yaml
              amnesia run my-attack.yaml
            """,
        subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Name every built-in spec with its first comment line.")

        func run() {
            let width = BuiltinSpec.all.map(\.path.count).max() ?? 0
            for spec in BuiltinSpec.all {
                print(spec.path.padding(toLength: width + 2, withPad: " ", startingAt: 0) + spec.summary())
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a built-in spec, to copy and edit.",
            discussion: "Example: amnesia specs show victims/fashion-lenet.yaml > my-zoo.yaml")
        @Argument(help: "The spec's path as `specs list` prints it, or its file name without .yaml.")
        var name: String

        func run() throws {
            guard let spec = BuiltinSpec.named(name) else {
                throw ValidationError("no built-in spec '\(name)'; `amnesia specs list` names them")
            }
            print(spec.text, terminator: "")
        }
    }
}
