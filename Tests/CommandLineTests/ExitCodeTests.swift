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
        (["victims", "import", "--dataset", "image-folder", "--resize", "32by32", "m.onnx"], "resize '32by32'"),
        (["victims", "import", "--expected-accuracy", "2", "m.onnx"], "--expected-accuracy"),
        (["audit", "--model", "m.onnx", "--dataset", "image-folder", "--mean", "0.5"], "mean and std"),
        (["audit", "--model", "m.onnx", "--dataset", "image-folder", "--channels", "cmyk"], "channels 'cmyk'"),
        (["audit", "--zoo", "z", "--recipe", "{epochs: 2}"], "--recipe states how --model was trained"),
        (["audit", "--model", "m.onnx", "--recipe", "{epoch: 2}"], "--recipe: 'epoch': unknown key 'epoch'"),
        (["audit", "--model", "m.onnx", "--recipe", "recipe.yml"], "--recipe: no file 'recipe.yml'"),
        (["forget-everything"], "forget-everything"),
        (["export", "--poison", "p.safetensors", "--out", ""], "--out is empty"),
        (["export", "--poison", "p.safetensors", "--out", "afile"], "--out afile is a file, not a folder"),
        (["export", "--poison", "p.safetensors", "--out", "fifo"], "--out fifo is a FIFO"),
        (["run", "escape.yaml", "--reports-dir", "afile"], "--reports-dir afile is a file"),
        (["run", "escape.yaml", "--workers", "-2"], "--workers must be at least 1 (got -2)"),
        (["audit", "--zoo", "nozoo"], "nozoo (missing manifest.json)"),
        (["audit", "--zoo", "nozoo", "--workers", "-1"], "--workers must be at least 1 (got -1)"),
        (["report", "badreport"], "badreport/report.json is not a report amnesia can read"),
        (["audit", "--zoo", "z", "--shard", "2/2"], "shard index 2 is outside 0…1"),
        (["audit", "--zoo", "z", "--shards", "4"], "needs this task's index"),
        (["audit", "--merge", "nowhere"], "no audit plan here"),
        (["victims", "train", "missing.yaml", "--shard", "one/two"], "--shard takes I/N"),
        (["craft", "forget.yaml", "--iterations", "0"], "with --iterations 0: iterations must be at least 1"),
        (["distill", "curve.yaml", "--iterations", "200"], "with --iterations 200: published_evaluation.curve: 300 is not an iteration before the last"),
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
            try (attack.replacingOccurrences(of: "NAME", with: "c")
                 + "objective: standard\niterations: 500\nevaluation: published\npublished_evaluation: {curve: [100, 300]}\n")
                .write(to: dir.appendingPathComponent("curve.yaml"), atomically: true, encoding: .utf8)
            try Data().write(to: dir.appendingPathComponent("afile"))
            #expect(mkfifo(dir.appendingPathComponent("fifo").path, 0o600) == 0)
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("badreport"), withIntermediateDirectories: true)
            try Data("{\"schema\": 3".utf8).write(to: dir.appendingPathComponent("badreport/report.json"))
            let before = contents(dir)
            let outcome = try amnesia(arguments, in: dir)
            #expect(outcome.status != 0, "\(arguments) exited 0: \(outcome.stdout)")
            #expect(outcome.stderr.contains(mentions), "\(arguments): stderr does not name '\(mentions)': \(outcome.stderr)")
            #expect(!outcome.stderr.contains("Fatal error") && !outcome.stderr.contains("Stack dump"), "\(arguments) crashed")
            #expect(contents(dir) == before, "\(arguments) wrote into the folder")
            #expect(!FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().appendingPathComponent("up").path))
        }
    }

    @Test("a negative number is read as a value and judged, not taken for a missing one")
    func negativeNumbers() throws {
        try withTempDir { dir in
            let outcome = try amnesia(["evaluate", "--poison", "p.safetensors", "--zoo", "z", "--forget", "-1", "--mean", "-0.5"], in: dir)
            #expect(outcome.status != 0 && !outcome.stderr.contains("Missing value"), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("/z (missing manifest.json)"), "\(outcome.stderr)")
        }
    }

    @Test("a huge value is cut in the message, not echoed whole")
    func hugeValueIsCut() throws {
        try withTempDir { dir in
            let name = String(repeating: "n", count: 2_000_000)
            try "name: \(name)\nzoo: z\nforget: 0\ntarget: 1\n".write(to: dir.appendingPathComponent("long.yaml"), atomically: true, encoding: .utf8)
            let outcome = try amnesia(["craft", "long.yaml"], in: dir)
            #expect(outcome.status != 0 && outcome.stderr.contains("(2000000 characters)"), "\(outcome.stderr.prefix(500))")
            #expect(outcome.stderr.utf8.count < 2_000, "\(outcome.stderr.utf8.count) bytes of message")
        }
    }
}
