import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A lock on a folder (a zoo, a run, an audit), so processes started together neither do
/// the same work into the same files nor read a folder another one is still writing.
///
/// Writers (training a zoo, importing into it, crafting a run) take it `exclusive`;
/// readers (a run, `evaluate` or `audit` reading a zoo) take it `shared`, so any number
/// of readers work side by side and a reader and a writer refuse each other at once.
/// It is an `flock` on `<folder>/.lock`, which the kernel releases when the holder exits
/// however it ends, so a killed run never leaves a stale lock. The file holds the last
/// holder's process id, which the error names. The file stays (removing it would let a
/// third process lock a new file while a second still holds the old one).
///
/// Neither the folder nor `.lock` may be a symbolic link: the lock writes its pid into
/// the file, and a link would send that write (and the run's files) outside the folder
/// the user chose.
public final class FolderLock: Sendable {
    /// Who else may hold the folder at the same time.
    public enum Mode: Sendable {
        /// Readers: any number at once, no writer.
        case shared
        /// A writer: nobody else.
        case exclusive
    }

    private let descriptor: Int32

    /// Takes the lock on `directory` (created if missing) in `mode`, or throws naming the
    /// process that holds it and what it is doing. `purpose` says what this process does
    /// ("training this zoo"), for the message another process gets.
    public init(_ directory: URL, _ mode: Mode = .exclusive, purpose: String) throws {
        try OutputFolder.prepare(directory, option: nil, writable: mode == .exclusive)
        let path = directory.appendingPathComponent(".lock").path
        var fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if fd < 0, mode == .shared, errno == EACCES || errno == EROFS {
            fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)  // a reader of a read-only zoo
        }
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link; remove it" : String(cString: strerror(errno))
            throw FormatError(.io, file: path, "cannot open the lock file: \(reason)")
        }
        guard flock(fd, (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            var bytes = [UInt8](repeating: 0, count: 256)
            let count = max(pread(fd, &bytes, bytes.count, 0), 0)
            close(fd)
            let holder = String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let (pid, doing) = holder.split(separator: " ", maxSplits: 1).map(String.init).splitPair
            throw FormatError(.io, file: directory.path,
                              "cannot start \(purpose): another amnesia process (pid \(pid ?? "unknown")) is \(doing ?? "using this folder") in this folder; wait for it to finish or stop it")
        }
        let note = Array("\(getpid()) \(purpose)\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pwrite(fd, note, note.count, 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }
}

private extension Array where Element == String {
    /// The first two elements, as a pair of optionals.
    var splitPair: (String?, String?) { (first, count > 1 ? self[1] : nil) }
}
