import Foundation

/// A fresh empty directory under the system temp directory (the caller removes it, or
/// leaves it for the OS to reap).
public func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("amnesia-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `body` with a fresh empty directory that is removed afterwards.
public func withTempDir<R>(_ body: (URL) throws -> R) throws -> R {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

/// SplitMix64: a tiny, well-mixed, seedable generator so test data is reproducible
/// without depending on the autodiff module's generator.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A temporary folder three levels deep around the folder handed to the code under test,
/// so a name that climbs (`..`, `../../x`) lands inside the sandbox where `escapes()`
/// sees it instead of in the shared temp directory.
public struct Sandbox {
    public let outer: URL
    /// The folder the code under test is given (victims or reports root).
    public let root: URL

    public init() throws {
        outer = try temporaryDirectory()
        root = outer.appendingPathComponent("a/b/root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// Everything in the sandbox outside `root` (the two folders above it excepted).
    public func escapes() -> [String] {
        let base = outer.resolvingSymlinksInPath().path
        let paths = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
        return paths.filter { !["a", "a/b", "a/b/root"].contains($0) && !$0.hasPrefix("a/b/root/") }
    }
}

/// The description of the error `body` throws, or "accepted" when it throws none.
public func errorText(_ body: () throws -> Void) -> String {
    do { try body(); return "accepted" } catch { return "\(error)" }
}
