import Autodiff
import Datasets
import Formats
import Foundation
import Vocabulary

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

    /// This poison with every step's images and targets replaced by `transform(s, images,
    /// targets)` (a defense dropping or adding rows); every step must come out with the same
    /// number of rows. The result carries its targets as soft labels.
    public func replacingSteps(classes: Int, _ transform: (Int, Tensor, Tensor) -> (images: Tensor, targets: Tensor)) -> PoisonSet {
        let replaced = (0..<steps).map { s in
            let (x, targets) = step(s, classes: classes)
            return transform(s, x, targets)
        }
        let rows = replaced[0].images.shape[0]
        precondition(replaced.allSatisfy { $0.images.shape[0] == rows }, "every step must keep the same number of rows")
        func joined(_ tensors: [Tensor]) -> Tensor {
            Tensor(shape: [rows * steps] + tensors[0].shape.dropFirst(), scalars: tensors.flatMap(\.scalars))
        }
        let soft = joined(replaced.map(\.targets))
        let labels = (0..<(rows * steps)).map { r in
            let row = soft.scalars[(r * classes)..<((r + 1) * classes)]
            return row.indices.max { row[$0] < row[$1] }! - r * classes
        }
        return PoisonSet(images: joined(replaced.map(\.images)), labels: labels, softLabels: soft, stepSizes: stepSizes,
                         steps: steps, epochs: epochs, metadata: metadata)
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

    /// What a reader may supply for metadata a poison file lacks (or override): the
    /// command line's `--forget`, `--mean` and so on.
    public struct MetadataOverrides: Sendable, Equatable {
        public var dataset: String?
        public var mean: [Float]?
        public var std: [Float]?
        public var forget: Int?
        public var target: Int?
        public var steps: Int?
        public var epochs: Int?

        public init(dataset: String? = nil, mean: [Float]? = nil, std: [Float]? = nil, forget: Int? = nil,
                    target: Int? = nil, steps: Int? = nil, epochs: Int? = nil) {
            (self.dataset, self.mean, self.std, self.forget, self.target) = (dataset, mean, std, forget, target)
            (self.steps, self.epochs) = (steps, epochs)
        }
    }

    /// Reads and validates a poison set, whoever wrote it. Metadata the file lacks comes
    /// from `overrides`, or is inferred where that is unambiguous: steps = epochs = 1 when
    /// `lrs` has one value, a bare number as the mean or std of a one-channel image. Every
    /// problem is reported in one message, with the form expected.
    public init(contentsOf url: URL, overrides: MetadataOverrides = .init()) throws {
        let file = try SafeTensors(contentsOf: url)
        var problems: [String] = []
        func fail(_ message: String) -> PoisonError { PoisonError("\(url.path): \(message)") }
        func text(_ key: String) -> String? { file.metadata[key]?.trimmingCharacters(in: .whitespaces) }
        func integer(_ key: String, _ override: Int?, what: String) -> Int? {
            if let override { return override }
            guard let value = text(key) else { return nil }
            guard let number = Int(value) else {
                problems.append("metadata '\(key)' (\(what)) must be a whole number, got '\(value)'")
                return nil
            }
            return number
        }
        func floats(_ key: String, _ override: [Float]?) -> [Float]? {
            if let override { return override }
            guard let value = text(key) else { return nil }
            if let number = Float(value) { return [number] }
            if let list = try? JSONDecoder().decode([Float].self, from: Data(value.utf8)) { return list }
            problems.append("metadata '\(key)' must be a JSON array of numbers, one per channel (e.g. [0.286]) or one number, got '\(value)'")
            return nil
        }

        let shape = try file.shape(of: "images")
        guard shape.count == 4, shape[0] > 0 else { throw fail("'images' must be [M, C, H, W] F32 with M ≥ 1, got \(shape)") }
        let labels = try file.int64s("labels").map { Int($0) }
        guard labels.count == shape[0] else { throw fail("'labels' has \(labels.count) entries for \(shape[0]) images") }
        let lrs = try file.floats("lrs")

        var steps = integer("steps", overrides.steps, what: "inner steps per epoch")
        var epochs = integer("epochs", overrides.epochs, what: "passes over the steps")
        switch (steps, epochs) {
        case (nil, nil) where lrs.count == 1: (steps, epochs) = (1, 1)
        case (let s?, nil) where s > 0 && lrs.count % s == 0: epochs = lrs.count / s
        case (nil, let e?) where e > 0 && lrs.count % e == 0: steps = lrs.count / e
        default: break
        }
        if steps == nil || epochs == nil {
            problems.append("metadata 'steps' and 'epochs' are missing and 'lrs' has \(lrs.count) values, so they cannot be inferred; add them (steps × epochs = \(lrs.count)) or pass --steps/--epochs")
        }
        if let steps, let epochs {
            if steps < 1 || epochs < 1 || shape[0] % steps != 0 {
                problems.append("steps \(steps) must be ≥ 1 and divide the \(shape[0]) images; epochs \(epochs) must be ≥ 1")
            } else if steps > Self.maxUpdates / epochs {
                problems.append("steps × epochs (\(steps) × \(epochs)) must be at most \(Self.maxUpdates) inner updates")
            } else if lrs.count != steps * epochs {
                problems.append("'lrs' has \(lrs.count) entries, expected steps × epochs = \(steps * epochs)")
            }
        }
        let dataset = overrides.dataset ?? text("dataset")
        if dataset == nil { problems.append("metadata 'dataset' is missing (e.g. fashion-mnist); add it or pass --dataset") }
        let mean = floats("mean", overrides.mean), std = floats("std", overrides.std)
        if file.metadata["mean"] == nil && overrides.mean == nil {
            problems.append("metadata 'mean' is missing: the per-channel mean the images were normalized with, e.g. [0.286]; add it or pass --mean")
        }
        if file.metadata["std"] == nil && overrides.std == nil {
            problems.append("metadata 'std' is missing: the per-channel std the images were normalized with, e.g. [0.353]; add it or pass --std")
        }
        for (key, values) in [("mean", mean), ("std", std)] {
            if let values, values.count != shape[1] {
                problems.append("'\(key)' has \(values.count) values for \(shape[1]) image channels; give one per channel")
            }
            if let values, !values.allSatisfy(\.isFinite) { problems.append("'\(key)' must be finite numbers, got \(values)") }
        }
        if let std, let i = std.firstIndex(where: { !($0 > 0) }) {
            let origin = overrides.std == nil ? "metadata 'std'" : "--std"
            problems.append("\(origin) value \(i) is \(std[i]); a std is the spread the images were divided by, so it must be > 0")
        }
        let forget = integer("K", overrides.forget, what: "the class to forget")
        let target = integer("T", overrides.target, what: "the class it should be predicted as")
        if forget == nil { problems.append("metadata 'K' (the class to forget) is missing; add it or pass --forget") }
        if target == nil { problems.append("metadata 'T' (the class it should be predicted as) is missing; add it or pass --target") }
        var softLabels: Tensor?
        if file.names.contains("soft_labels") {
            let softShape = try file.shape(of: "soft_labels")
            if softShape.count == 2, softShape[0] == shape[0] {
                softLabels = Tensor(shape: softShape, scalars: try file.floats("soft_labels"))
            } else {
                problems.append("'soft_labels' must be [\(shape[0]), classes], got \(softShape)")
            }
        }
        guard problems.isEmpty, let steps, let epochs, let dataset, let mean, let std, let forget, let target else {
            throw fail("cannot use this poison set:\n  - " + problems.joined(separator: "\n  - ")
                       + "\n(a poison set is safetensors with images [M, C, H, W] F32 in normalized space, labels [M] I64, lrs [steps×epochs] F32, and metadata dataset, mean, std, K, T, steps, epochs)")
        }
        let pixels = try file.floats("images")
        let values = Self.valueProblems(images: pixels, stepSizes: lrs, labels: labels, softLabels: softLabels)
        guard values.isEmpty else { throw fail("cannot use this poison set:\n  - " + values.joined(separator: "\n  - ")) }
        images = Tensor(shape: shape, scalars: pixels)
        self.labels = labels
        self.softLabels = softLabels
        stepSizes = lrs
        self.steps = steps
        self.epochs = epochs
        let classNames = text("class_names").flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        metadata = Metadata(dataset: dataset, classNames: classNames, mean: mean, std: std,
                            forget: forget, target: target, architecture: file.metadata["arch"] ?? "unknown",
                            seed: UInt64(file.metadata["seed"] ?? "") ?? 0, objective: file.metadata["objective"] ?? "forget")
    }

    /// A PNG grid of the images in pixel space: one row per class of each step.
    public func grid(scale: Int = 2) throws -> PNGImage {
        let normalization = Normalization(mean: metadata.mean, std: metadata.std)
        let planeSize = imageShape[1] * imageShape[2]
        let pixels = try normalization.invert(images.scalars, channels: imageShape[0], planeSize: planeSize)
        let columns = Self.gridColumns(labels)
        let rows = (labels.count + columns - 1) / columns
        return try ImageGrid.render(pixels: pixels, count: labels.count, channels: imageShape[0], height: imageShape[1],
                                    width: imageShape[2], rows: rows, columns: columns,
                                    rowLabels: (0..<rows).map { labels[min($0 * columns, labels.count - 1)] },
                                    options: ImageGrid.Options(scale: scale))
    }
}

extension PoisonSet {
    /// Images per grid row such that every row holds one label: the greatest common
    /// divisor of the lengths of the runs of equal consecutive labels (10 for blocks of 10
    /// per class, also when a relabelled block K joins block T in a run of 20; 1 for
    /// shuffled labels).
    public static func gridColumns(_ labels: [Int]) -> Int {
        var runs: [Int] = [], previous: Int? = nil
        for label in labels {
            if label == previous { runs[runs.count - 1] += 1 } else { runs.append(1) }
            previous = label
        }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        return max(1, runs.reduce(0, gcd))
    }
}

/// A poison set that cannot be read or used, with what is wrong.
public struct PoisonError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
