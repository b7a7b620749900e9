import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The folders Amnesia writes into (a zoo, a run, an export), checked before the first
/// byte is written so a bad path gets one message naming the option and the path rather
/// than a raw operating-system error halfway through.
public enum OutputFolder {
    /// Creates `url` (and its parents) if missing and checks it is a real, writable folder:
    /// not a file, FIFO or device, not a symbolic link (a link would send the
    /// files outside the folder the user chose). `option` (e.g. "--out") names where the
    /// path came from. `writable: false` (a reader's lock on a zoo) skips the last check.
    public static func prepare(_ url: URL, option: String?, writable: Bool = true) throws {
        let path = url.path
        let named = option.map { "\($0) " } ?? ""
        func refuse(_ problem: String) -> FormatError { FormatError(.io, file: path, "\(named)\(problem)") }
        var info = stat()
        if lstat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFDIR: break
            case S_IFLNK: throw refuse("is a symbolic link; Amnesia writes only into real folders, so give the folder it points to")
            case S_IFREG: throw refuse("is a file, not a folder; choose a folder path")
            default: throw refuse("is a FIFO, socket or device, not a folder; choose a folder path")
            }
        } else if let failure = makeFolders(url) {
            throw refuse("cannot be created (\(String(cString: strerror(failure)))); check that its parent is a writable folder")
        }
        guard !writable || access(path, W_OK | X_OK) == 0 else {
            throw refuse("is not writable (\(String(cString: strerror(errno)))); choose another folder or fix its permissions")
        }
    }

    /// Creates `url` and its missing parents (`mkdir -p`); the `errno` of the first failure, or nil.
    private static func makeFolders(_ url: URL) -> Int32? {
        var path = ""
        for component in url.standardizedFileURL.pathComponents {
            path = component == "/" ? "/" : (path.hasSuffix("/") ? path : path + "/") + component
            if mkdir(path, 0o755) != 0 && errno != EEXIST { return errno }
        }
        var info = stat()
        guard stat(url.path, &info) == 0 else { return errno }
        return info.st_mode & S_IFMT == S_IFDIR ? nil : ENOTDIR
    }
}
