import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Results
import Victims

/// The oracle of a K→T pair: every victim fine-tuned on the whole training set with K
/// relabelled T (`FineTuneRecipe`), the most any poisoning can do to it. Each report reads
/// its ASR as a share of the oracle's and its collateral as the excess over the oracle's.
///
/// The recipe's learning rate is chosen on selection victims (crafting ones) by accuracy
/// against the K→T labels on training images, never on the victims it is then run on.
/// Finished oracles are cached per victim weights, pair and recipe, so an audit or a
/// second run pays for each once.
public struct Oracle: Sendable {
    /// Learning rates the recipe is chosen from.
    public static let learningRates: [Float] = [0.003, 0.01, 0.03]
    /// Selection victims the learning rate is chosen on (the first ones given).
    public static let selectionVictims = 2

    public let recipe: FineTuneRecipe
    public let classifier: any Classifier
    /// The training split with K relabelled T.
    public let relabelled: LabeledImages
    public let forget: Int
    public let target: Int
    /// Folder of cached oracle results (nil: no cache).
    public let cache: URL?

    public init(recipe: FineTuneRecipe, classifier: any Classifier, train: LabeledImages, forget: Int, target: Int,
                cache: URL?) throws {
        (self.recipe, self.classifier, self.forget, self.target, self.cache) = (recipe, classifier, forget, target, cache)
        relabelled = try train.relabelled(forget: forget, target: target)
    }

    /// The oracle whose learning rate scored best on `selection` (victims and training
    /// images), or the cached choice for the same selection victims, pair and seed. With no
    /// selection victim, the middle learning rate.
    public static func chosen(classifier: any Classifier, train: LabeledImages, forget: Int, target: Int, seed: UInt64,
                              selection: (victims: [[Tensor]], images: LabeledImages), cache: URL?,
                              workers: Int = 2, progress: (String) -> Void = { _ in }) throws -> Oracle {
        let victims = Array(selection.victims.prefix(selectionVictims))
        let key = "lr-\(forget)-\(target)-\(seed)-" + parameterFingerprint(victims + [learningRates.map { Tensor($0) }])
        if let cached: FineTuneRecipe = cache.flatMap({ read(key, in: $0) }) {
            return try Oracle(recipe: cached, classifier: classifier, train: train, forget: forget, target: target, cache: cache)
        }
        progress("choosing the oracle's learning rate on \(victims.count) of the scorer's victims (crafting ones, held-out ones in a zoo without): \(learningRates.map { "\($0)" }.joined(separator: ", "))")
        let scorer = Evaluator(classifier: classifier, images: selection.images, forget: forget, target: target)
        var best: (oracle: Oracle, score: Double)?
        for rate in learningRates where !victims.isEmpty {
            let oracle = try Oracle(recipe: FineTuneRecipe(learningRate: rate, seed: seed), classifier: classifier,
                                    train: train, forget: forget, target: target, cache: cache)
            let tuned = parallelMap(victims, workers: workers) { oracle.fineTuned($0) }
            let score = tuned.map { scorer.metrics($0).targetAccuracy }.reduce(0, +) / Double(max(tuned.count, 1))
            if best == nil || score > best!.score { best = (oracle, score) }
        }
        guard let chosen = best?.oracle else {
            return try Oracle(recipe: FineTuneRecipe(learningRate: learningRates[1], seed: seed), classifier: classifier,
                              train: train, forget: forget, target: target, cache: cache)
        }
        if let cache { try write(chosen.recipe, key: key, in: cache) }
        return chosen
    }

    /// `parameters` after the oracle's fine-tuning.
    public func fineTuned(_ parameters: [Tensor]) -> [Tensor] {
        Trainer.fineTune(classifier, parameters, on: relabelled, recipe: recipe)
    }

    /// Each victim's metrics after the oracle, by victim id, measured by `evaluator` (cached
    /// per victim weights).
    public func metrics(_ victims: [EvaluatedVictim], evaluator: Evaluator, workers: Int = 2,
                        progress: (String) -> Void = { _ in }) throws -> [String: ClassMetrics] {
        let recipeKey = (try? CanonicalJSON.encode(recipe)).map { SHA256.hex($0).prefix(12) } ?? ""
        let keys = victims.map { "\(parameterFingerprint([$0.parameters]))-\(forget)-\(target)-\(evaluator.images.count)-\(recipeKey)" }
        var found: [String: ClassMetrics] = [:]
        for (victim, key) in zip(victims, keys) {
            if let cached: ClassMetrics = cache.flatMap({ Oracle.read(key, in: $0) }) { found[victim.id] = cached }
        }
        let missing = victims.indices.filter { found[victims[$0].id] == nil }
        if !missing.isEmpty { progress("running the oracle (\(recipe.summary)) on \(missing.count) victims") }
        let computed = parallelMap(missing, workers: workers) { i in evaluator.metrics(fineTuned(victims[i].parameters)) }
        for (i, metrics) in zip(missing, computed) {
            found[victims[i].id] = metrics
            if let cache { try Oracle.write(metrics, key: keys[i], in: cache) }
        }
        return found
    }

    static func read<T: Decodable>(_ key: String, in folder: URL) -> T? {
        (try? Data(contentsOf: folder.appendingPathComponent("\(key).json"))).flatMap { try? JSONDecoder().decode(T.self, from: $0) }
    }

    static func write<T: Encodable>(_ value: T, key: String, in folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(CanonicalJSON.encode(value), to: folder.appendingPathComponent("\(key).json"))
    }
}
