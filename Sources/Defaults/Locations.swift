import Foundation

/// Where zoos and reports go when the command line does not say: the first of
///   1. `$AMNESIA_HOME/victims` and `$AMNESIA_HOME/reports`, when AMNESIA_HOME is set;
///   2. `victims` and `reports` in the current folder, when it is an Amnesia checkout
///      (`isCheckout`), so the repository's scripts keep their folders;
///   3. `$XDG_DATA_HOME/amnesia/…` (an absolute XDG_DATA_HOME only, as the XDG spec says);
///   4. `$HOME/.local/share/amnesia/…`.
public struct Locations: Sendable, Equatable {
    /// The folder holding the zoos.
    public let victims: String
    /// The folder run and audit folders are written into.
    public let reports: String
    /// Which rule chose them, for `--help`.
    public let reason: String

    /// The locations for this process's environment and current folder.
    public static let current = Locations(environment: ProcessInfo.processInfo.environment,
                                          currentFolder: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))

    public init(environment: [String: String], currentFolder: URL) {
        func under(_ base: String, _ reason: String) -> Locations {
            let root = URL(fileURLWithPath: base, isDirectory: true)
            return Locations(victims: root.appendingPathComponent("victims").path,
                             reports: root.appendingPathComponent("reports").path, reason: reason)
        }
        if let home = environment["AMNESIA_HOME"], !home.isEmpty {
            self = under(home, "AMNESIA_HOME is set")
        } else if Self.isCheckout(currentFolder) {
            self = Locations(victims: "victims", reports: "reports", reason: "the current folder is an Amnesia checkout")
        } else if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            self = under(data + "/amnesia", "XDG_DATA_HOME is set")
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.homeDirectoryForCurrentUser.path
            self = under(home + "/.local/share/amnesia", "the per-user default")
        }
    }

    private init(victims: String, reports: String, reason: String) {
        (self.victims, self.reports, self.reason) = (victims, reports, reason)
    }

    /// True when `folder` is the root of an Amnesia checkout: it holds a Package.swift that
    /// declares the package `name: "Amnesia"`.
    public static func isCheckout(_ folder: URL) -> Bool {
        guard let manifest = try? String(contentsOf: folder.appendingPathComponent("Package.swift"), encoding: .utf8) else { return false }
        return manifest.contains(#"name: "Amnesia""#)
    }

    /// The rules above as `--help` states them.
    public static let explanation = """
        Zoos and reports go to --victims-dir and --reports-dir. Without them: \
        $AMNESIA_HOME/victims and $AMNESIA_HOME/reports when AMNESIA_HOME is set; else victims/ \
        and reports/ of the current folder when it is an Amnesia checkout (it holds the \
        project's Package.swift, name: "Amnesia"); else $XDG_DATA_HOME/amnesia/… when \
        XDG_DATA_HOME is set; else ~/.local/share/amnesia/victims and …/reports. Nothing else \
        is written. Datasets are read from Debian's paths (Fashion-MNIST: \
        /usr/share/datasets/fashion-mnist, package dataset-fashion-mnist) unless a zoo spec's \
        data_dir or --data-dir names a folder.
        """
}
