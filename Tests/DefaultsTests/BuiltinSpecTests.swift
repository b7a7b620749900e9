import Defaults
import Distillation
import Foundation
import Specs
import Testing
import Victims

/// The repository's root, where the shipped specs live.
private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

@Suite("Built-in specs: the shipped YAML files, embedded")
struct BuiltinSpecTests {
    /// attacks/*.yaml, victims/*.yaml and distill/*.yaml on disk, by repository path.
    func shippedSpecs() throws -> [String: String] {
        var files: [String: String] = [:]
        for folder in ["attacks", "victims", "distill"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: repository.appendingPathComponent(folder).path)
            for name in names where name.hasSuffix(".yaml") {
                files["\(folder)/\(name)"] = try String(contentsOf: repository.appendingPathComponent("\(folder)/\(name)"), encoding: .utf8)
            }
        }
        return files
    }

    @Test("the generated file holds exactly the YAML files on disk (else run scripts/generate-builtin-specs.sh)")
    func matchesDisk() throws {
        let disk = try shippedSpecs()
        #expect(disk.count >= 20, "found only \(disk.count) specs under \(repository.path)")
        #expect(Set(BuiltinSpec.all.map(\.path)) == Set(disk.keys), "the built-in specs and the files differ: run scripts/generate-builtin-specs.sh")
        for spec in BuiltinSpec.all {
            #expect(spec.text == disk[spec.path], "\(spec.path) changed on disk: run scripts/generate-builtin-specs.sh")
        }
    }

    @Test("every built-in spec parses, and the zoo specs it names are built in too")
    func parsesAndReferencesResolve() throws {
        for spec in BuiltinSpec.all {
            if spec.path.hasPrefix("victims/") {
                _ = try ZooSpec.parse(yaml: spec.text, file: spec.path)
            } else {
                let attack = try AttackSpec.parse(yaml: spec.text, file: spec.path)
                for reference in [attack.zooSpec, attack.foreignZooSpec].compactMap({ $0 }) {
                    #expect(BuiltinSpec.named(reference) != nil, "\(spec.path) names \(reference), which is not built in")
                }
            }
            #expect(!spec.summary().isEmpty, "\(spec.path) has no leading comment for `specs list`")
        }
    }

    @Test("a built-in spec is found by its path, its path without .yaml, or its file name")
    func lookup() throws {
        let path = "attacks/fashion-tshirt-to-trouser.yaml"
        for name in [path, "attacks/fashion-tshirt-to-trouser", "fashion-tshirt-to-trouser", "fashion-tshirt-to-trouser.yaml"] {
            #expect(BuiltinSpec.named(name)?.path == path, "\(name)")
        }
        #expect(BuiltinSpec.named("victims/fashion-lenet")?.path == "victims/fashion-lenet.yaml")
        #expect(BuiltinSpec.named("fashion-tshirt") == nil && BuiltinSpec.named("attacks/") == nil)
    }

    @Test("a file on disk is read; a missing name falls back to the built-in; neither is an error naming the path")
    func sources() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("amnesia-spec-\(UUID().uuidString).yaml")
        try "name: mine\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let own = try SpecSource(file.path)
        #expect(own.text == "name: mine\n" && own.file == file.path && !own.isBuiltin)

        let builtin = try SpecSource("fashion-lenet")
        #expect(builtin.isBuiltin && builtin.file == "victims/fashion-lenet.yaml (built in)")
        #expect(builtin.text == BuiltinSpec.named("victims/fashion-lenet.yaml")?.text)

        let error = try #require(throws: SpecError.self) { try SpecSource("no-such-spec.yaml") }
        #expect(error.file.hasSuffix("/no-such-spec.yaml") && error.message.contains("amnesia specs list"))
    }
}
