import Foundation
import Formats
import Testing

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
}
