import Foundation
import Synchronization
import Testing

/// The `amnesia` executable built beside this test bundle (`swift build --build-tests`
/// builds both into one folder).
let builtExecutable: URL = {
    let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    let candidates = [folder, folder.deletingLastPathComponent()].map { $0.appendingPathComponent("amnesia") }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
}()

struct Outcome {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `executable arguments…` in `folder` (with `environment` instead of this process's
/// when given) and collects its exit status and output.
func amnesia(_ arguments: [String], in folder: URL, executable: URL = builtExecutable,
             environment: [String: String]? = nil) throws -> Outcome {
    try #require(FileManager.default.isExecutableFile(atPath: executable.path),
                 "no amnesia binary at \(executable.path): build with `swift build -c release --build-tests`")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = folder
    if let environment { process.environment = environment }
    let (out, err) = (Pipe(), Pipe())
    (process.standardOutput, process.standardError) = (out, err)
    try process.run()
    // Standard error is drained on another thread so a chatty command cannot fill its pipe
    // while this one waits on standard output.
    let stderr = Mutex(Data())
    let drained = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        stderr.withLock { $0 = data }
        drained.signal()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    drained.wait()
    process.waitUntilExit()
    return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: stderr.withLock { String(decoding: $0, as: UTF8.self) })
}

/// Every path under `folder`, sorted, to prove what a command wrote.
func contents(_ folder: URL) -> [String] {
    (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).sorted()
}
