import Foundation
import Testing
import TestSupport

/// The `amnesia` binary as a user or a script meets it: bad input ends the process with a
/// non-zero status and one message on standard error naming what is wrong, and writes
/// nothing; `--help` succeeds. Each case runs the real executable in an empty folder and
/// needs no dataset.
@Suite("The command line's exit codes and messages")
struct ExitCodeTests {
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
        (["run", "standard.yaml"], "amnesia distill"),        // before any zoo is looked for or trained
        (["distill", "forget.yaml"], "needs objective: standard"),
        (["evaluate", "--poison", "none.safetensors", "--zoo", "z"], "/z (missing manifest.json)"),
        (["victims", "show", "nozoo"], "nozoo"),
        (["victims", "import", "--zoo", "../up", "w.safetensors"], "--zoo"),
        (["bench", "--workers", "0"], "--workers"),
        (["audit", "--model", "m.onnx", "--crafting", "2"], "--crafting 2 is fewer than the victims_per_iteration 4"),
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
            try (attack.replacingOccurrences(of: "NAME", with: "s") + "objective: standard\n")
                .write(to: dir.appendingPathComponent("standard.yaml"), atomically: true, encoding: .utf8)
            try attack.replacingOccurrences(of: "NAME", with: "f")
                .write(to: dir.appendingPathComponent("forget.yaml"), atomically: true, encoding: .utf8)
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
