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
            #expect(error?.description.contains("another amnesia process (pid \(getpid())) is training this zoo") == true)
            withExtendedLifetime(first) {}
            first = nil
            _ = try FolderLock(dir, purpose: "training this zoo")
        }
    }
}
