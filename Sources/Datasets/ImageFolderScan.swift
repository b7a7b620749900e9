import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files of an image folder, found the way torchvision's `ImageFolder` finds them (each
/// class folder walked recursively, symbolic links followed, directories by path then files
/// by name, sorted), with what was left out counted for one summary line.
struct ImageFolderScan {
    /// Extensions read as images (their content decides PNG or JPEG).
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Image files per class (index = label), in torchvision's order.
    var files: [[URL]] = []
    /// Hidden entries (leading dot) skipped.
    var hidden = 0
    /// Other files skipped, counted by extension (`""` for none).
    var nonImages: [String: Int] = [:]
    /// Path, size and modification time of every image, to key the decoded cache.
    var fingerprint: [String] = []

    /// The class folders of `split`, sorted by name.
    static func classNames(in split: URL) throws -> [String] {
        guard isFolder(split) else {
            throw DatasetError(.missingFile, file: split.path, "no such folder; an image folder has train/ and test/, each with one folder of images per class (or, with --split, the class folders directly)")
        }
        return try entries(split).filter { !$0.lastPathComponent.hasPrefix(".") && isFolder($0) }
            .map(\.lastPathComponent).sorted()
    }

    /// Scans the class folders `classNames` of `split`.
    mutating func scan(_ split: URL, classNames: [String]) throws {
        // Stray files beside the class folders are not images of any class.
        for entry in try ImageFolderScan.entries(split) where !ImageFolderScan.isFolder(entry) {
            count(entry)
        }
        var perClass: [[URL]] = []
        for name in classNames {
            let folder = split.appendingPathComponent(name)
            var visited: [FileIdentity: String] = [:]
            var found: [(directory: String, file: URL)] = []
            try walk(folder, visited: &visited, into: &found)
            let sorted = found.sorted { ($0.directory, $0.file.lastPathComponent) < ($1.directory, $1.file.lastPathComponent) }.map(\.file)
            guard !sorted.isEmpty else {
                throw DatasetError(.invalidArgument, file: folder.path, "class '\(name)' has no images (.png, .jpg, .jpeg) in \(split.lastPathComponent)/; every class needs at least one image in each split")
            }
            perClass.append(sorted)
        }
        files.append(contentsOf: perClass)
    }

    /// Device and inode: how a folder reached twice through links is recognized.
    private struct FileIdentity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private mutating func walk(_ folder: URL, visited: inout [FileIdentity: String], into found: inout [(directory: String, file: URL)]) throws {
        let info = try ImageFolderScan.status(folder)
        let identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        if let first = visited[identity] {
            throw DatasetError(.invalidArgument, file: folder.path, "is a symbolic link loop: it leads back to \(first), which is already being read; remove the link")
        }
        visited[identity] = folder.path
        for entry in try ImageFolderScan.entries(folder) {
            let name = entry.lastPathComponent
            if name.hasPrefix(".") { hidden += 1; continue }
            let status = try ImageFolderScan.status(entry)
            if (status.st_mode & S_IFMT) == S_IFDIR {
                try walk(entry, visited: &visited, into: &found)
            } else if ImageFolderScan.imageExtensions.contains(entry.pathExtension.lowercased()) {
                found.append((folder.path, entry))
                fingerprint.append("\(entry.path)\t\(status.st_size)\t\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)")
            } else {
                count(entry)
            }
        }
        visited[identity] = nil
    }

    private mutating func count(_ entry: URL) {
        if entry.lastPathComponent.hasPrefix(".") { hidden += 1; return }
        nonImages[entry.pathExtension.lowercased(), default: 0] += 1
    }

    /// `stat` following links, naming a dangling link or a link loop.
    private static func status(_ url: URL) throws -> stat {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            let code = errno
            if code == ELOOP {
                throw DatasetError(.invalidArgument, file: url.path, "is a symbolic link loop (the link leads back to itself); remove the link")
            }
            throw DatasetError(.missingFile, file: url.path, "cannot be read (\(String(cString: strerror(code)))); remove it or fix the link")
        }
        return info
    }

    static func isFolder(_ url: URL) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &folder) && folder.boolValue
    }

    /// A folder's entries, through `opendir`, which follows a link to a folder (Foundation's
    /// listing on Linux returns nothing for one).
    private static func entries(_ folder: URL) throws -> [URL] {
        guard let directory = opendir(folder.path) else {
            throw DatasetError(.io, file: folder.path, "cannot list this folder (\(String(cString: strerror(errno))))")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.map { folder.appendingPathComponent($0) }
    }
}
