import Foundation
import Testing
import TestSupport

/// `amnesia` as a user meets it after `scripts/install.sh`: the binary copied alone into a
/// `bin` folder and run from an empty folder of theirs, with a home folder of its own. It
/// needs nothing from the checkout, and writes only under ~/.local/share/amnesia.
@Suite("The installed binary works from any folder", .serialized)
struct InstalledBinaryTests {
    /// A sandbox: `bin/amnesia` (a copy of the built binary), an empty `home` and the
    /// user's `work` folder.
    struct Installation {
        let root, binary, home, work: URL

        init(_ root: URL) throws {
            (home, work) = (root.appendingPathComponent("home"), root.appendingPathComponent("work"))
            binary = root.appendingPathComponent("bin/amnesia")
            for folder in [home, work, binary.deletingLastPathComponent()] {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            try FileManager.default.copyItem(at: builtExecutable, to: binary)
            self.root = root
        }

        /// This process's environment with HOME in the sandbox and no folder settings.
        var environment: [String: String] {
            var environment = ProcessInfo.processInfo.environment
            environment["HOME"] = home.path
            (environment["AMNESIA_HOME"], environment["XDG_DATA_HOME"]) = (nil, nil)
            return environment
        }

        func run(_ arguments: [String]) throws -> Outcome {
            try amnesia(arguments, in: work, executable: binary, environment: environment)
        }
    }

    /// The subcommand names a `--help` page lists.
    func subcommands(of help: String) -> [String] {
        guard let section = help.components(separatedBy: "SUBCOMMANDS:").dropFirst().first else { return [] }
        return section.split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst().prefix { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("      ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    @Test("--help succeeds for every command and subcommand, without writing anything")
    func helpEverywhere() throws {
        try withTempDir { root in
            let installed = try Installation(root)
            let before = contents(root)
            var pending = [[String]()]
            var seen: [String] = []
            while let command = pending.popLast() {
                let outcome = try installed.run(command + ["--help"])
                #expect(outcome.status == 0 && outcome.stdout.contains("USAGE:"), "\(command) --help: \(outcome.stderr)")
                seen.append(command.joined(separator: " "))
                pending += subcommands(of: outcome.stdout).filter { $0 != "help" }.map { command + [$0] }
            }
            for command in ["run", "audit", "victims import", "specs show", "bench"] {
                #expect(seen.contains(command), "--help pages never reached \(command): \(seen)")
            }
            #expect(contents(root) == before)
        }
    }

    @Test("--version names the commit; specs list and show print the built-in specs")
    func versionAndSpecs() throws {
        try withTempDir { root in
            let installed = try Installation(root)
            let version = try installed.run(["--version"])
            #expect(version.status == 0 && version.stdout.contains("(commit "), "\(version.stdout)")
            let list = try installed.run(["specs", "list"])
            #expect(list.status == 0 && list.stdout.contains("attacks/fashion-tshirt-to-trouser.yaml"), "\(list.stdout)")
            let shown = try installed.run(["specs", "show", "fashion-lenet"])
            #expect(shown.status == 0 && shown.stdout.hasPrefix("#") && shown.stdout.contains("name: fashion-lenet\n"), "\(shown.stdout)")
            let unknown = try installed.run(["specs", "show", "fashion-nothing"])
            #expect(unknown.status != 0 && unknown.stderr.contains("amnesia specs list"), "\(unknown.stderr)")
            #expect(contents(root.appendingPathComponent("home")).isEmpty && contents(root.appendingPathComponent("work")).isEmpty)
        }
    }

    @Test("audit --model and evaluate run from an empty folder and write only under ~/.local/share/amnesia")
    func auditAndEvaluate() throws {
        try withTempDir { root in
            let installed = try Installation(root)
            let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("ONNXTests/Fixtures/lenet.onnx")
            try FileManager.default.copyItem(at: fixture, to: installed.work.appendingPathComponent("model.onnx"))
            _ = try makeImageFolder(installed.work.appendingPathComponent("images"))

            // The built-in attack, printed, edited to a tiny budget and passed back as a file.
            let shown = try installed.run(["specs", "show", "fashion-tshirt-to-trouser"])
            try #require(shown.status == 0, "\(shown.stderr)")
            let tiny = ["images_per_class": "1", "victims_per_iteration": "1", "real_batch_size": "20"]
            var edited = 0
            let spec = shown.stdout.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                guard let key = tiny.keys.first(where: { line.hasPrefix($0 + ":") }) else { return String(line) }
                edited += 1
                return "\(key): \(tiny[key]!)"
            }
            try #require(edited == tiny.count, "the default attack no longer has the keys \(tiny.keys.sorted())")
            try spec.joined(separator: "\n").write(to: installed.work.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
            let work = contents(installed.work)

            let audit = try installed.run(["audit", "--model", "model.onnx", "--dataset", "image-folder", "--data-dir", "images",
                                           "--crafting", "1", "--pairs", "0:1", "--iterations", "2", "--spec", "tiny.yaml", "--workers", "1"])
            try #require(audit.status == 0, "audit failed: \(audit.stderr)")
            let data = installed.home.appendingPathComponent(".local/share/amnesia")
            #expect(audit.stdout.contains("report: \(data.path)/reports/audit-"), "\(audit.stdout)")
            // One crafting victim, not the default 8: a zoo of its own name.
            #expect(contents(data.appendingPathComponent("victims")).contains("audit-model-c1/manifest.json"))
            // White-box by default with --model: the pair is also crafted on the model's own weights.
            #expect(contents(data.appendingPathComponent("reports")).contains { $0.contains("-white-box-") && $0.hasSuffix("poison.safetensors") })

            let poison = try #require(contents(data.appendingPathComponent("reports")).first {
                $0.hasSuffix("poison.safetensors") && !$0.contains("white-box")
            })
            let evaluation = try installed.run(["evaluate", "--poison", data.appendingPathComponent("reports/" + poison).path,
                                                "--zoo", "audit-model-c1", "--workers", "1"])
            try #require(evaluation.status == 0, "evaluate failed: \(evaluation.stderr)")
            #expect(evaluation.stdout.contains("ASR") && evaluation.stdout.contains("report: \(data.path)/reports/"), "\(evaluation.stdout)")

            #expect(contents(installed.work) == work, "the user's folder changed")
            let outside = contents(installed.home).filter {
                ![".local", ".local/share", ".local/share/amnesia", ".local/share/amnesia/victims", ".local/share/amnesia/reports"].contains($0)
                    && !$0.hasPrefix(".local/share/amnesia/victims/") && !$0.hasPrefix(".local/share/amnesia/reports/")
            }
            #expect(outside.isEmpty, "written outside ~/.local/share/amnesia: \(outside)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ["bin", "home", "work"])
        }
    }
}
