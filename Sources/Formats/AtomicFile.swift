import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file writing.
///
/// Experiment artifacts (poison sets, checkpoints, images) are read back by later pipeline
/// stages; a half-written file would silently corrupt them. Writing to a temporary file in
/// the same directory, fsyncing it and renaming it over the target means readers see either
/// the old file or the complete new one, never a torn write. Every file this module writes
/// goes through here.
public enum AtomicFile {
    /// Atomically replaces (or creates) the file at `url` with `data`, creating parent
    /// directories as needed. A symbolic link at `url` is refused, never followed or replaced.
    ///
    /// - Throws: `FormatError` with kind `.io` naming the path and the OS reason.
    public static func write(_ data: Data, to url: URL) throws {
        let target = url.standardizedFileURL
        let directory = target.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FormatError(.io, file: directory.path,
                               "cannot create directory (\(error.localizedDescription)); check permissions or choose another output path")
        }
        var info = stat()
        if lstat(target.path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            throw FormatError(.io, file: target.path, "is a symbolic link; Amnesia does not replace links (the file it points to could be anywhere): remove it or choose another output path")
        }
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let tempPath = directory.appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())-\(suffix)").path
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ioError(tempPath, "cannot create temporary file")
        }
        var committed = false
        defer {
            if !committed { unlink(tempPath) }
        }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                var offset = 0
                while offset < raw.count {
                    guard let base = raw.baseAddress else { break }
                    let n = Glibc_write(fd, base + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw ioError(tempPath, "write failed (disk full?)")
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw ioError(tempPath, "fsync failed") }
        }
        guard rename(tempPath, target.path) == 0 else {
            throw ioError(target.path, "cannot rename temporary file over the target")
        }
        committed = true
        // Persist the rename itself; failure here is not fatal because the data is already
        // complete in either the old or new name.
        let dirfd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// Removes the temporary files in `directory` that `write` left when its process was
    /// killed mid-write (`.<name>.tmp-<pid>-<suffix>` of a process that no longer runs); a
    /// live process's temporary file is kept. Returns the names removed.
    @discardableResult
    public static func sweepStale(in directory: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { name in
            guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...].prefix { $0 != "-" }), pid > 0,
                  kill(pid, 0) != 0, errno == ESRCH else { return false }
            return (try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))) != nil
        }
    }

    private static func ioError(_ path: String, _ what: String) -> FormatError {
        let reason = String(cString: strerror(errno))
        return FormatError(.io, file: path, "\(what): \(reason); check free space and permissions of the directory")
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ buf: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buf, n)
    #else
    return Darwin.write(fd, buf, n)
    #endif
}
