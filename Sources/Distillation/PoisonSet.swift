import Autodiff
import Datasets
import Formats
import Foundation

/// Malicious (or plain) distilled data: images in the network's normalized input space,
/// their fixed labels, and the learned step size of every step of every epoch.
///
/// On disk: safetensors with `images` [steps·M, C, H, W] F32, `labels` [steps·M] I64,
/// `lrs` [steps·epochs] F32, and `__metadata__` describing how to use them. Any tool can
/// write one; `PoisonSet(contentsOf:)` validates it.
public struct PoisonSet: Sendable {
    public static let version = "1"

    /// [steps·M, C, H, W]; step s uses rows s·M ..< (s+1)·M.
    public var images: Tensor
    /// One label per image: the class of its block.
    public var labels: [Int]
    /// Learned soft labels [steps·M, classes] (rows sum to one), used instead of `labels`
    /// by the inner steps when present.
    public var softLabels: Tensor?
    /// Step size of step s in epoch e at index e·steps + s.
    public var stepSizes: [Float]
    public var steps: Int
    public var epochs: Int
    public var metadata: Metadata

    /// What a poison set records about its making and its input space.
    public struct Metadata: Codable, Sendable, Equatable {
        public var dataset: String
        public var classNames: [String]
        public var mean: [Float]
        public var std: [Float]
        public var forget: Int
        public var target: Int
        public var architecture: String
        public var seed: UInt64
        public var objective: String

        public init(dataset: String, classNames: [String], mean: [Float], std: [Float], forget: Int, target: Int,
                    architecture: String, seed: UInt64, objective: String) {
            (self.dataset, self.classNames, self.mean, self.std) = (dataset, classNames, mean, std)
            (self.forget, self.target, self.architecture, self.seed, self.objective) = (forget, target, architecture, seed, objective)
        }
    }

    public init(images: Tensor, labels: [Int], softLabels: Tensor? = nil, stepSizes: [Float], steps: Int, epochs: Int,
                metadata: Metadata) {
        (self.images, self.labels, self.softLabels, self.stepSizes, self.steps, self.epochs, self.metadata) =
            (images.detached(), labels, softLabels?.detached(), stepSizes, steps, epochs, metadata)
    }

    /// Images per step.
    public var imagesPerStep: Int { images.shape[0] / steps }
    /// [C, H, W] of one image.
    public var imageShape: [Int] { Array(images.shape.dropFirst()) }

    /// The images of step `s` and their targets (soft labels, or one-hot of `labels`).
    public func step(_ s: Int, classes: Int) -> (images: Tensor, targets: Tensor) {
        let m = imagesPerStep
        let targets = softLabels.map { rows($0, from: s * m, count: m) }
            ?? Tensor.oneHot(Array(labels[(s * m)..<((s + 1) * m)]), classes: classes)
        return (rows(images, from: s * m, count: m), targets)
    }

    /// `count` leading-axis rows of `tensor` starting at `start`.
    private func rows(_ tensor: Tensor, from start: Int, count: Int) -> Tensor {
        let size = tensor.shape.dropFirst().reduce(1, *)
        return Tensor(shape: [count] + tensor.shape.dropFirst()) { out in
            out.baseAddress!.update(from: tensor.buffer.baseAddress! + start * size, count: count * size)
        }
    }

    // MARK: Files

    /// The safetensors encoding described above.
    public func file() throws -> SafeTensors {
        func json<T: Encodable>(_ value: T) -> String {
            (try? JSONEncoder().encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? ""
        }
        var file = SafeTensors(metadata: [
            "format": "amnesia.poison", "version": Self.version, "dataset": metadata.dataset,
            "class_names": json(metadata.classNames), "mean": json(metadata.mean), "std": json(metadata.std),
            "K": String(metadata.forget), "T": String(metadata.target), "steps": String(steps), "epochs": String(epochs),
            "arch": metadata.architecture, "seed": String(metadata.seed), "objective": metadata.objective,
        ])
        try file.add(name: "images", floats: images.scalars, shape: images.shape)
        try file.add(name: "labels", int64s: labels.map { Int64($0) }, shape: [labels.count])
        try file.add(name: "lrs", floats: stepSizes, shape: [stepSizes.count])
        if let softLabels { try file.add(name: "soft_labels", floats: softLabels.scalars, shape: softLabels.shape) }
        return file
    }

    public func write(to url: URL) throws { try file().write(to: url) }

    /// Reads and validates a poison set, whoever wrote it.
    public init(contentsOf url: URL) throws {
        let file = try SafeTensors(contentsOf: url)
        func fail(_ message: String) -> PoisonError { PoisonError("\(url.path): \(message)") }
        func meta(_ key: String) throws -> String {
            guard let value = file.metadata[key] else {
                throw fail("missing metadata '\(key)' (needed: dataset, mean, std, K, T, steps, epochs)")
            }
            return value
        }
        func decoded<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
            guard let value = try? JSONDecoder().decode(T.self, from: Data(meta(key).utf8)) else {
                throw fail("metadata '\(key)' must be a JSON array, got '\(try meta(key))'")
            }
            return value
        }
        func integer(_ key: String) throws -> Int {
            guard let value = Int(try meta(key)) else { throw fail("metadata '\(key)' must be an integer, got '\(try meta(key))'") }
            return value
        }
        let shape = try file.shape(of: "images")
        guard shape.count == 4 else { throw fail("'images' must be [M, C, H, W], got \(shape)") }
        let labels = try file.int64s("labels").map { Int($0) }
        guard labels.count == shape[0] else { throw fail("'labels' has \(labels.count) entries for \(shape[0]) images") }
        let steps = try integer("steps"), epochs = try integer("epochs")
        guard steps >= 1, epochs >= 1, shape[0] % steps == 0 else {
            throw fail("steps \(steps) must be ≥ 1 and divide the \(shape[0]) images; epochs \(epochs) must be ≥ 1")
        }
        let lrs = try file.floats("lrs")
        guard lrs.count == steps * epochs else { throw fail("'lrs' has \(lrs.count) entries, expected steps × epochs = \(steps * epochs)") }
        let mean = try decoded("mean", as: [Float].self), std = try decoded("std", as: [Float].self)
        guard mean.count == shape[1], std.count == shape[1] else {
            throw fail("mean and std must have one entry per channel (\(shape[1]))")
        }
        let classNames = (try? decoded("class_names", as: [String].self)) ?? []
        let forget = try integer("K"), target = try integer("T")
        if file.names.contains("soft_labels") {
            let softShape = try file.shape(of: "soft_labels")
            guard softShape.count == 2, softShape[0] == shape[0] else {
                throw fail("'soft_labels' must be [\(shape[0]), classes], got \(softShape)")
            }
            softLabels = Tensor(shape: softShape, scalars: try file.floats("soft_labels"))
        } else {
            softLabels = nil
        }
        images = Tensor(shape: shape, scalars: try file.floats("images"))
        self.labels = labels
        stepSizes = lrs
        self.steps = steps
        self.epochs = epochs
        metadata = Metadata(dataset: try meta("dataset"), classNames: classNames, mean: mean, std: std,
                            forget: forget, target: target, architecture: file.metadata["arch"] ?? "unknown",
                            seed: UInt64(file.metadata["seed"] ?? "") ?? 0, objective: file.metadata["objective"] ?? "forget")
    }

    /// A PNG grid of the images in pixel space: one row per class of each step.
    public func grid(scale: Int = 2) throws -> PNGImage {
        let normalization = Normalization(mean: metadata.mean, std: metadata.std)
        let planeSize = imageShape[1] * imageShape[2]
        let pixels = try normalization.invert(images.scalars, channels: imageShape[0], planeSize: planeSize)
        let classes = Set(labels).count
        let columns = max(1, imagesPerStep / max(classes, 1))
        let rows = (labels.count + columns - 1) / columns
        return try ImageGrid.render(pixels: pixels, count: labels.count, channels: imageShape[0], height: imageShape[1],
                                    width: imageShape[2], rows: rows, columns: columns,
                                    rowLabels: (0..<rows).map { labels[min($0 * columns, labels.count - 1)] },
                                    options: ImageGrid.Options(scale: scale))
    }
}

/// A poison set that cannot be read or used, with what is wrong.
public struct PoisonError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
