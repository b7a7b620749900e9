import Autodiff
import Formats
import Foundation

/// The published evaluation's finished networks, saved in the run folder
/// (`published-scores.json`) as each one finishes: an interrupted evaluation (an hour of
/// ConvNet training at ten images per class) resumes with the networks it has not scored.
/// A score is filed under the set's fingerprint (recipe, images, labels) and its seed.
final class PublishedScores: @unchecked Sendable {
    static let fileName = "published-scores.json"
    private let url: URL
    private let lock = NSLock()
    private var scores: [String: Double]

    /// The scores saved in `directory`, or none when there are none (or they are unreadable:
    /// those networks are then trained again).
    init(directory: URL) {
        url = directory.appendingPathComponent(Self.fileName)
        scores = (try? JSONDecoder().decode([String: Double].self, from: Data(contentsOf: url))) ?? [:]
    }

    /// A set's fingerprint: the hash of the protocol's description and the set's values.
    static func fingerprint(recipe: String, images: Tensor, targets: Tensor) -> String {
        var bytes = Data(recipe.utf8)
        for tensor in [images, targets] { tensor.scalars.withUnsafeBufferPointer { bytes.append(Data(buffer: $0)) } }
        return String(SHA256.hex(bytes).prefix(16))
    }

    /// The saved scores of `set`, by seed.
    func known(_ set: String, seeds: [UInt64]) -> [UInt64: Double] {
        lock.withLock {
            Dictionary(uniqueKeysWithValues: seeds.compactMap { seed in scores["\(set)/\(seed)"].map { (seed, $0) } })
        }
    }

    /// Saves one network's score at once (the whole file, atomically).
    func record(_ set: String, seed: UInt64, accuracy: Double) throws {
        try lock.withLock {
            scores["\(set)/\(seed)"] = accuracy
            try AtomicFile.write(CanonicalJSON.encode(scores, pretty: true), to: url)
        }
    }
}
