import Foundation
import Formats
import Testing
import TestSupport

@Suite("Hostile format inputs")
struct HostileFormatsTests {
    @Test("a file parsed from a sub-range of a buffer (startIndex ≠ 0) reads the same as on its own")
    func sliceParses() throws {
        var file = SafeTensors(metadata: ["k": "v"])
        try file.add(name: "x", floats: [1, 2, 3], shape: [3])
        let bytes = file.data()
        let slice = (Data([9, 9, 9]) + bytes).dropFirst(3)
        #expect(slice.startIndex == 3)
        #expect(try SafeTensors(data: slice, source: "slice") == file)
    }

    @Test("a folder lock is exclusive, names its holder, and is free again once released")
    func folderLock() throws {
        try withTempDir { dir in
            var first: FolderLock? = try FolderLock(dir, purpose: "training this zoo")
            let error = #expect(throws: FormatError.self) { try FolderLock(dir, purpose: "training this zoo") }
            #expect(error?.description.contains("another amnesia process (pid \(getpid())) is training this zoo in this folder") == true)
            withExtendedLifetime(first) {}
            first = nil
            _ = try FolderLock(dir, purpose: "training this zoo")
        }
    }

    @Test("a .lock that is a symbolic link is refused, and the file it points to is untouched")
    func symlinkedLockFile() throws {
        try withTempDir { dir in
            let outside = dir.appendingPathComponent("outside.txt"), folder = dir.appendingPathComponent("zoo")
            try Data("precious".utf8).write(to: outside)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(".lock"), withDestinationURL: outside)
            let text = errorText { _ = try FolderLock(folder, purpose: "training this zoo") }
            #expect(text.contains(".lock: cannot open the lock file: it is a symbolic link"), "\(text)")
            #expect(try String(contentsOf: outside, encoding: .utf8) == "precious")
        }
    }

    @Test("a run or zoo folder that is a symbolic link is refused, not written through")
    func symlinkedFolder() throws {
        try withTempDir { dir in
            let elsewhere = dir.appendingPathComponent("elsewhere"), folder = dir.appendingPathComponent("run")
            try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: folder, withDestinationURL: elsewhere)
            for mode in [FolderLock.Mode.exclusive, .shared] {
                let text = errorText { _ = try FolderLock(folder, mode, purpose: "crafting this run") }
                #expect(text.contains("run: is a symbolic link"), "\(text)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)
        }
    }

    @Test("readers share a folder; a writer and a reader refuse each other at once, naming the holder")
    func sharedAndExclusive() throws {
        try withTempDir { dir in
            var readers: [FolderLock]? = [try FolderLock(dir, .shared, purpose: "attacking this zoo"),
                                          try FolderLock(dir, .shared, purpose: "auditing this zoo")]
            let writer = errorText { _ = try FolderLock(dir, .exclusive, purpose: "training this zoo") }
            #expect(writer.contains("cannot start training this zoo: another amnesia process (pid \(getpid())) is auditing this zoo in this folder"), "\(writer)")
            withExtendedLifetime(readers) {}
            readers = nil
            let training: FolderLock? = try FolderLock(dir, .exclusive, purpose: "training this zoo")
            let reader = errorText { _ = try FolderLock(dir, .shared, purpose: "attacking this zoo") }
            #expect(reader.contains("cannot start attacking this zoo: another amnesia process (pid \(getpid())) is training this zoo"), "\(reader)")
            withExtendedLifetime(training) {}
        }
    }

    @Test("an atomic write refuses a destination that is a symbolic link and leaves its target alone")
    func atomicWriteRefusesLinks() throws {
        try withTempDir { dir in
            let outside = dir.appendingPathComponent("outside.txt"), link = dir.appendingPathComponent("report.json")
            try Data("precious".utf8).write(to: outside)
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: outside)
            let text = errorText { try AtomicFile.write(Data("new".utf8), to: link) }
            #expect(text.contains("report.json: is a symbolic link"), "\(text)")
            #expect(try String(contentsOf: outside, encoding: .utf8) == "precious")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == outside.path)
        }
    }

    @Test("an output folder that is a file, a FIFO or below a file is one message naming the option and path")
    func outputFolders() throws {
        try withTempDir { dir in
            let file = dir.appendingPathComponent("plain"), fifo = dir.appendingPathComponent("pipe")
            try Data().write(to: file)
            #expect(mkfifo(fifo.path, 0o600) == 0)
            #expect(errorText { try OutputFolder.prepare(file, option: "--out") }.contains("plain: --out is a file, not a folder"))
            #expect(errorText { try OutputFolder.prepare(fifo, option: "--out") }.contains("pipe: --out is a FIFO"))
            #expect(errorText { try OutputFolder.prepare(file.appendingPathComponent("below"), option: "--out") }
                .contains("below: --out cannot be created (Not a directory)"))
            try OutputFolder.prepare(dir.appendingPathComponent("new/deeper"), option: "--out")
        }
    }
}
