import Formats
import Foundation
import Testing
import TestSupport

@Suite struct AtomicFileTests {
    @Test func writesCreatesParentsAndOverwritesWithoutLeftovers() throws {
        try withTempDir { dir in
            let target = dir.appendingPathComponent("a/b/out.bin")
            try AtomicFile.write(Data([1, 2, 3]), to: target)
            #expect(try Data(contentsOf: target) == Data([1, 2, 3]))
            try AtomicFile.write(Data("replaced".utf8), to: target)
            #expect(try Data(contentsOf: target) == Data("replaced".utf8))
            let entries = try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path)
            #expect(entries == ["out.bin"], "temporary files left behind: \(entries)")
        }
    }

    @Test func failureNamesThePathAndLeavesNoTempFile() throws {
        try withTempDir { dir in
            // The target is an existing directory, so the final rename must fail.
            let target = dir.appendingPathComponent("taken")
            try FileManager.default.createDirectory(at: target.appendingPathComponent("inner"), withIntermediateDirectories: true)
            let error = #expect(throws: FormatError.self) { try AtomicFile.write(Data([9]), to: target) }
            #expect(error?.kind == .io)
            #expect(error?.description.contains("taken") == true)
            let entries = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            #expect(entries == ["taken"], "temporary files left behind: \(entries)")
        }
    }

    @Test func sweepRemovesOnlyTemporaryFilesOfDeadProcesses() throws {
        try withTempDir { dir in
            // pid 2^22 + 1 is above Linux's pid_max, so no process has it.
            let names = [".out.bin.tmp-4194305-abc", ".out.bin.tmp-\(getpid())-def", "out.bin", ".hidden"]
            for name in names { try Data([1]).write(to: dir.appendingPathComponent(name)) }
            #expect(AtomicFile.sweepStale(in: dir) == [".out.bin.tmp-4194305-abc"])
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            #expect(left == Array(names.dropFirst()).sorted())
        }
    }
}
