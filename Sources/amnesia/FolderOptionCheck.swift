import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks a folder option (`--reports-dir`, `--out`, …) when the command line is parsed,
/// so a path that cannot be a folder is one message naming the option and the path, not
/// an operating-system error after minutes of work. The folder need not exist yet.
func checkFolderOption(_ path: String, option: String, writable: Bool) throws {
    guard !path.isEmpty else { throw ValidationError("\(option) is empty; give a folder path") }
    var info = stat()
    guard stat(path, &info) == 0 else { return }
    switch info.st_mode & S_IFMT {
    case S_IFDIR:
        if writable && access(path, W_OK | X_OK) != 0 {
            throw ValidationError("\(option) \(path) is not writable (\(String(cString: strerror(errno)))); choose another folder or fix its permissions")
        }
    case S_IFREG: throw ValidationError("\(option) \(path) is a file, not a folder; choose a folder path")
    default: throw ValidationError("\(option) \(path) is a FIFO, socket or device, not a folder; choose a folder path")
    }
}
