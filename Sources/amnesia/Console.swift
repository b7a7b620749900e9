import Foundation
import Synchronization

/// Progress and status lines on standard error, safe to call from several threads, with
/// per-key throttling so long loops report every few seconds rather than every step.
final class Console: Sendable {
    static let shared = Console()
    private let lastShown = Mutex<[String: Date]>([:])

    /// Prints `line` now.
    func say(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Prints `line` unless a line with the same `key` was shown less than `interval` ago.
    func progress(_ key: String, interval: TimeInterval = 3, _ line: @autoclosure () -> String) {
        let now = Date()
        let due = lastShown.withLock { shown in
            if let last = shown[key], now.timeIntervalSince(last) < interval { return false }
            shown[key] = now
            return true
        }
        if due { say(line()) }
    }
}

/// "1m 05s" style durations for progress lines.
func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 60 ? "\(s / 60)m \(String(format: "%02d", s % 60))s" : "\(s)s"
}
