import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A short exclusive lock that works on a network filesystem shared by several hosts
/// (NFS, where `flock` is not reliable): a lock file created with `O_EXCL`, which is atomic
/// there, holding the holder's host, process id and the time its lease ends.
///
/// It guards short critical sections that tasks on different hosts share, such as merging
/// per-victim records into a zoo's manifest. A holder that died leaves its file behind; the
/// next taker removes it once the lease has ended, or at once when the holder ran on the
/// same host and its process is gone. A lease should be much longer than the section and
/// the clock skew between hosts.
public final class LeaseLock: Sendable {
    public let path: String
    private let token: String

    /// Takes the lock at `path`, waiting up to `timeout` seconds for a live holder.
    /// - Throws: `FormatError` naming the holder when it is still held after `timeout`,
    ///   or when the file cannot be created.
    public init(_ path: String, purpose: String, lease: Double = 120, timeout: Double = 600) throws {
        self.path = path
        let host = Self.hostName
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let expires = Date().timeIntervalSince1970 + lease
            let token = "\(host) \(getpid()) \(String(format: "%.3f", expires)) \(String(UInt64.random(in: 0...UInt64.max), radix: 36))\n"
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                let bytes = Array(token.utf8)
                let written = write(fd, bytes, bytes.count)
                _ = fsync(fd)
                close(fd)
                guard written == bytes.count else {
                    unlink(path)
                    throw FormatError(.io, file: path, "cannot write the lock file: \(String(cString: strerror(errno))); check free space")
                }
                self.token = token
                return
            }
            guard errno == EEXIST else {
                throw FormatError(.io, file: path, "cannot create the lock file: \(String(cString: strerror(errno))); check the folder's permissions")
            }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if Self.isStale(holder, age: Self.age(of: path), lease: lease) {
                Self.breakStale(path, holder: holder)
                continue
            }
            guard Date() < deadline else {
                let fields = holder.split(separator: " ")
                let who = fields.count >= 2 ? "process \(fields[1]) on \(fields[0])" : "another process"
                throw FormatError(.io, file: path, "\(who) has held this lock for over \(Int(timeout)) s while \(purpose); if it is gone, delete the file")
            }
            usleep(50_000)
        }
    }

    /// Releases the lock, unless it was broken as stale and someone else holds it now.
    deinit {
        if (try? String(contentsOfFile: path, encoding: .utf8)) == token { unlink(path) }
    }

    /// Whether a lock file's content (`host pid expiry …`) belongs to a holder that is gone:
    /// its lease ended, or it ran here and its process no longer exists. An empty or garbled
    /// file is being written this moment, or was left by a holder killed while writing it:
    /// stale once it is older (`age` seconds) than a lease.
    static func isStale(_ content: String, age: Double, lease: Double, now: Double = Date().timeIntervalSince1970) -> Bool {
        let fields = content.split(separator: " ")
        guard fields.count >= 3, let pid = Int32(fields[1]), let expires = Double(fields[2]) else { return age > lease }
        if now > expires { return true }
        return String(fields[0]) == hostName && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes a stale lock file: renamed away first (atomic), then checked to be the very
    /// file judged stale; a fresh lock taken in between is put back.
    private static func breakStale(_ path: String, holder: String) {
        let aside = "\(path).stale-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        guard rename(path, aside) == 0 else { return }
        if (try? String(contentsOfFile: aside, encoding: .utf8)) != holder {
            _ = link(aside, path)  // not ours to break; if the name is taken again, that holder wins
        }
        unlink(aside)
    }

    /// Seconds since the file at `path` was last modified (0 when it cannot be read).
    private static func age(of path: String) -> Double {
        guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return 0 }
        return Date().timeIntervalSince(modified)
    }

    /// This machine's name, as lock files record it.
    public static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        return String(cString: buffer)
    }()
}
