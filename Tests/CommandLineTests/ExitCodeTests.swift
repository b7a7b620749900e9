import Foundation
import Testing
import TestSupport

/// The `amnesia` binary as a user or a script meets it: bad input ends the process with a
/// non-zero status and one message on standard error naming what is wrong, and writes
/// nothing; `--help` succeeds. Each case runs the real executable in an empty folder and
/// needs no dataset.
@Suite("The command line's exit codes and messages")
struct ExitCodeTests {
    /// The `amnesia` executable built beside this test bundle (`swift build --build-tests`
    /// builds both into one folder).
    static let executable: URL = {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [folder, folder.deletingLastPathComponent()].map { $0.appendingPathComponent("amnesia") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }()

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `amnesia arguments…` in `folder` and collects its exit status and output.
    func amnesia(_ arguments: [String], in folder: URL) throws -> Outcome {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path),
                     "no amnesia binary at \(Self.executable.path): build with `swift build -c release --build-tests`")
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        let (out, err) = (Pipe(), Pipe())
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Every path under `folder`, to prove a refused command wrote nothing.
    func contents(_ folder: URL) -> [String] {
        (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).sorted()
    }

    @Test("--help succeeds and teaches the commands")
    func help() throws {
        try withTempDir { dir in
            let outcome = try amnesia(["--help"], in: dir)
            #expect(outcome.status == 0)
            for command in ["run", "craft", "evaluate", "audit", "victims", "bench"] {
                #expect(outcome.stdout.contains(command), "--help lists \(command)")
            }
        }
    }

    @Test("bad input exits non-zero with one message naming the problem, and writes nothing", arguments: [
        (["craft", "missing.yaml"], "missing.yaml"),
        (["craft", "escape.yaml"], "name '../../x'"),
        (["craft", "typo.yaml"], "iteratons"),
        (["evaluate", "--poison", "none.safetensors", "--zoo", "z"], "/z (missing manifest.json)"),
        (["victims", "show", "nozoo"], "nozoo"),
        (["victims", "import", "--zoo", "../up", "w.safetensors"], "--zoo"),
        (["bench", "--workers", "0"], "--workers"),
        (["victims", "import", "--dataset", "image-folder", "--resize", "32by32", "m.onnx"], "resize '32by32'"),
        (["victims", "import", "--expected-accuracy", "2", "m.onnx"], "--expected-accuracy"),
        (["audit", "--model", "m.onnx", "--dataset", "image-folder", "--mean", "0.5"], "mean and std"),
        (["audit", "--model", "m.onnx", "--dataset", "image-folder", "--channels", "cmyk"], "channels 'cmyk'"),
        (["forget-everything"], "forget-everything"),
    ])
    func refused(arguments: [String], mentions: String) throws {
        try withTempDir { dir in
            let attack = """
                name: NAME
                zoo: z
                forget: 0
                target: 1

                """
            try attack.replacingOccurrences(of: "NAME", with: "'../../x'")
                .write(to: dir.appendingPathComponent("escape.yaml"), atomically: true, encoding: .utf8)
            try (attack.replacingOccurrences(of: "NAME", with: "t") + "iteratons: 5\n")
                .write(to: dir.appendingPathComponent("typo.yaml"), atomically: true, encoding: .utf8)
            let before = contents(dir)
            let outcome = try amnesia(arguments, in: dir)
            #expect(outcome.status != 0, "\(arguments) exited 0: \(outcome.stdout)")
            #expect(outcome.stderr.contains(mentions), "\(arguments): stderr does not name '\(mentions)': \(outcome.stderr)")
            #expect(!outcome.stderr.contains("Fatal error") && !outcome.stderr.contains("Stack dump"), "\(arguments) crashed")
            #expect(contents(dir) == before, "\(arguments) wrote into the folder")
            #expect(!FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().appendingPathComponent("up").path))
        }
    }
}
