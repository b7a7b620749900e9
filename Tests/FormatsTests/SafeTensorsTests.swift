import Formats
import Foundation
import Testing
import TestSupport

@Suite struct SafeTensorsTests {
    /// Assembles a file from a raw header string and data buffer.
    func file(_ header: String, _ buffer: [UInt8] = [], length: UInt64? = nil) -> Data {
        let h = Array(header.utf8)
        let n = length ?? UInt64(h.count)
        var out = Data((0..<8).map { UInt8((n >> (8 * UInt64($0))) & 0xff) })
        out.append(contentsOf: h)
        out.append(contentsOf: buffer)
        return out
    }

    func kind(_ data: Data) -> SafeTensorsError.Kind? {
        do {
            _ = try SafeTensors(data: data, source: "hostile.safetensors")
            return nil
        } catch let error as SafeTensorsError {
            #expect(error.description.contains("hostile.safetensors"))
            return error.kind
        } catch {
            return nil
        }
    }

    @Test func roundTripF32I64AndMetadata() throws {
        var st = SafeTensors(metadata: ["format": "pt", "note": "quote \" and \\ and ünïcode"])
        try st.add(name: "weight", floats: [1.5, -2, .infinity, 0], shape: [2, 2])
        try st.add(name: "labels", int64s: [-1, Int64.max, 0], shape: [3])
        try st.add(name: "empty", floats: [], shape: [0, 4])
        try st.add(name: "scalar", floats: [42], shape: [])
        try withTempDir { dir in
            let url = dir.appendingPathComponent("ckpt/model.safetensors")
            try st.write(to: url)
            let back = try SafeTensors(contentsOf: url)
            #expect(back == st)
            #expect(back.names == ["weight", "labels", "empty", "scalar"])
            #expect(try back.floats("weight") == [1.5, -2, .infinity, 0])
            #expect(try back.int64s("labels") == [-1, Int64.max, 0])
            #expect(try back.shape(of: "empty") == [0, 4])
            #expect(try back.floats("scalar") == [42])
            #expect(back.metadata["note"] == "quote \" and \\ and ünïcode")
        }
    }

    @Test func writerIsDeterministicAndPadded() throws {
        var a = SafeTensors(metadata: ["b": "2", "a": "1"])
        try a.add(name: "z", floats: [1], shape: [1])
        try a.add(name: "y", int64s: [2], shape: [1])
        let bytes = a.data()
        #expect(bytes == a.data())
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
        let header = String(decoding: bytes.dropFirst(8).prefix(n), as: UTF8.self)
        #expect(header.hasPrefix("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"},\"y\":"))
        #expect(header.hasSuffix("}") || header.hasSuffix(" "))
        // Data follows insertion order: z first.
        #expect(header.contains("\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"))
    }

    @Test func readsOtherDtypes() throws {
        var st = SafeTensors()
        // 1.0 and -2.0 as F16 (0x3C00, 0xC000), and 1.0 as BF16 (0x3F80), F64 0.5, I32 -3.
        try st.add(name: "h", dtype: .F16, shape: [2], bytes: [0x00, 0x3C, 0x00, 0xC0])
        try st.add(name: "bf", dtype: .BF16, shape: [1], bytes: [0x80, 0x3F])
        try st.add(name: "d", dtype: .F64, shape: [1], bytes: [0, 0, 0, 0, 0, 0, 0xE0, 0x3F])
        try st.add(name: "i", dtype: .I32, shape: [1], bytes: [0xFD, 0xFF, 0xFF, 0xFF])
        let back = try SafeTensors(data: st.data(), source: "mem")
        #expect(try back.floats("h") == [1, -2])
        #expect(try back.floats("bf") == [1])
        #expect(try back.floats("d") == [0.5])
        #expect(try back.int64s("i") == [-3])
        let mismatch = #expect(throws: SafeTensorsError.self) { try back.floats("i") }
        #expect(mismatch?.kind == .dtypeMismatch)
    }

    @Test func accessAndBuilderErrors() throws {
        var st = SafeTensors()
        try st.add(name: "a", floats: [1, 2], shape: [2])
        let missing = #expect(throws: SafeTensorsError.self) { try st.floats("b") }
        #expect(missing?.kind == .missingTensor)
        #expect(missing?.message.contains("\"a\"") == true)
        let dup = #expect(throws: SafeTensorsError.self) { try st.add(name: "a", floats: [1], shape: [1]) }
        #expect(dup?.kind == .duplicateTensor)
        let size = #expect(throws: SafeTensorsError.self) { try st.add(name: "c", floats: [1, 2, 3], shape: [2]) }
        #expect(size?.kind == .sizeMismatch)
        let reserved = #expect(throws: SafeTensorsError.self) { try st.add(name: "__metadata__", floats: [1], shape: [1]) }
        #expect(reserved?.kind == .invalidName)
    }

    @Test func hostileHeaderFramingIsRejected() {
        #expect(kind(Data([1, 2, 3])) == .fileTooShort)
        #expect(kind(file("{}", length: 1000)) == .headerLengthExceedsFile)
        #expect(kind(file("{}", length: 1 << 63)) == .headerTooLarge)
        #expect(kind(file("{}", length: .max)) == .headerTooLarge)
        #expect(kind(file("{}", length: 200_000_000)) == .headerTooLarge)
        var notUTF8 = file("{}")
        notUTF8[8] = 0xFF
        #expect(kind(notUTF8) == .headerNotUTF8)
        #expect(kind(file("{\"a\":")) == .headerInvalidJSON)
        #expect(kind(file(String(repeating: "[", count: 100_000))) == .headerInvalidJSON)
        #expect(kind(file("{\"a\":{},\"a\":{}}")) == .headerInvalidJSON)
        #expect(kind(file("[1, 2]")) == .headerNotObject)
        #expect(kind(file("{\"__metadata__\":{\"k\":1}}")) == .invalidMetadata)
        #expect(kind(file("{\"w\":[]}")) == .invalidTensorEntry)
        #expect(kind(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", [0, 0, 0, 0])) == .invalidTensorEntry)
    }

    func entry(_ dtype: String = "F32", _ shape: String, _ offsets: String) -> String {
        "{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }

    @Test func hostileTensorEntriesAreRejected() {
        let four = [UInt8](repeating: 0, count: 4)
        let twelve = [UInt8](repeating: 0, count: 12)
        #expect(kind(file("{\"w\":\(entry("F128", "[1]", "[0,4]"))}", four)) == .unknownDType)
        #expect(kind(file("{\"w\":\(entry("F32", "[-1]", "[0,4]"))}", four)) == .invalidShape)
        #expect(kind(file("{\"w\":\(entry("F32", "[1.5]", "[0,4]"))}", four)) == .invalidShape)
        #expect(kind(file("{\"w\":\(entry("F32", "\"1\"", "[0,4]"))}", four)) == .invalidShape)
        #expect(kind(file("{\"w\":\(entry("F32", "[4294967296,4294967296,4294967296]", "[0,4]"))}", four)) == .shapeOverflow)
        #expect(kind(file("{\"w\":\(entry("F32", "[99999999999999999999]", "[0,4]"))}", four)) == .invalidShape)
        #expect(kind(file("{\"w\":\(entry("F32", "[2]", "[0,4]"))}", four)) == .sizeMismatch)
        #expect(kind(file("{\"w\":\(entry("F32", "[1]", "[4,0]"))}", four)) == .reversedOffsets)
        #expect(kind(file("{\"w\":\(entry("F32", "[1]", "[0,18446744073709551615]"))}", four)) == .spanOutOfBounds)
        #expect(kind(file("{\"w\":\(entry("F32", "[1]", "[0]"))}", four)) == .invalidOffsets)
        #expect(kind(file("{\"w\":\(entry("F32", "[1]", "[-4,0]"))}", four)) == .invalidOffsets)
        // Overlapping: a covers 0..<8, b covers 4..<12.
        #expect(kind(file("{\"a\":\(entry("F32", "[2]", "[0,8]")),\"b\":\(entry("F32", "[2]", "[4,12]"))}", twelve)) == .overlappingSpans)
        // Hole between tensors, and unclaimed trailing bytes.
        #expect(kind(file("{\"a\":\(entry("F32", "[1]", "[0,4]")),\"b\":\(entry("F32", "[1]", "[8,12]"))}", twelve)) == .bufferNotCovered)
        #expect(kind(file("{\"a\":\(entry("F32", "[1]", "[0,4]"))}", twelve)) == .bufferNotCovered)
        // A well-formed file with space padding still parses.
        #expect(kind(file("{\"a\":\(entry("F32", "[1]", "[0,4]"))}   ", four)) == nil)
    }

    @Test func truncatedValidFilesNeverCrash() throws {
        var st = SafeTensors(metadata: ["k": "v"])
        try st.add(name: "w", floats: (0..<16).map(Float.init), shape: [4, 4])
        try st.add(name: "b", int64s: [1, 2, 3], shape: [3])
        let full = st.data()
        for cut in 0..<full.count {
            #expect(kind(full.prefix(cut)) != nil, "prefix of \(cut) bytes was accepted")
        }
        #expect(kind(full) == nil)
    }
}
