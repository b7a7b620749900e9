import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a folder (a zoo being trained, a run being crafted), so two
/// processes started together do not both do the work into the same files.
///
/// It is an `flock` on `<folder>/.lock`, which the kernel releases when the holder exits
/// however it ends, so a killed run never leaves a stale lock. The file holds the holder's
/// process id, which the error names. The file stays (removing it would let a third
/// process lock a new file while a second still holds the old one).
public final class FolderLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock on `directory` (created if missing), or throws naming the process
    /// that holds it.
    public init(_ directory: URL, purpose: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(".lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FormatError(.io, file: path, "cannot open the lock file: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw FormatError(.io, file: directory.path,
                              "another amnesia process (pid \(holder ?? "unknown")) is \(purpose) in this folder; wait for it to finish or stop it")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        descriptor = fd
    }

    deinit { close(descriptor) }
}
