import Autodiff
import Datasets
import Foundation
import Networks

/// How the oracle fine-tunes a trained victim: plain mini-batch SGD with momentum, no weight
/// decay, a constant learning rate, `epochs` passes over the data in a seeded order. The
/// learning rate is the one thing chosen per zoo (on crafting victims).
public struct FineTuneRecipe: Codable, Hashable, Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var momentum: Float
    /// Seeds the order of the training images.
    public var seed: UInt64

    enum CodingKeys: String, CodingKey {
        case epochs
        case batchSize = "batch_size"
        case learningRate = "learning_rate"
        case momentum, seed
    }

    public init(epochs: Int = 1, batchSize: Int = 64, learningRate: Float, momentum: Float = 0.9, seed: UInt64 = 0) {
        (self.epochs, self.batchSize, self.learningRate, self.momentum, self.seed) = (epochs, batchSize, learningRate, momentum, seed)
    }

    /// One line for reports, e.g. "1 epoch of SGD (learning rate 0.01, momentum 0.9, batch 64)".
    public var summary: String {
        "\(epochs) epoch\(epochs == 1 ? "" : "s") of SGD (learning rate \(learningRate), momentum \(momentum), batch \(batchSize))"
    }
}

extension LabeledImages {
    /// The same images with every label `forget` replaced by `target`: what an attacker who
    /// could relabel the whole training set would train on. The pixels are shared, not copied.
    public func relabelled(forget: Int, target: Int) throws -> LabeledImages {
        try LabeledImages(info: info, channels: channels, height: height, width: width, pixels: pixels,
                          labels: labels.map { $0 == forget ? target : $0 })
    }
}

extension Trainer {
    /// `parameters` after `recipe`'s fine-tuning on `data` (already normalized and labelled
    /// as the fine-tuning wants). Batch norm's running statistics move as in training.
    public static func fineTune(_ classifier: any Classifier, _ parameters: [Tensor], on data: LabeledImages,
                                recipe: FineTuneRecipe) -> [Tensor] {
        var rng = SeededGenerator(seed: recipe.seed)
        var optimizer = SGD(learningRate: recipe.learningRate, momentum: recipe.momentum)
        var parameters = parameters
        let batches = (data.count + recipe.batchSize - 1) / recipe.batchSize
        for _ in 0..<recipe.epochs {
            let order = (0..<data.count).shuffled(using: &rng)
            for b in 0..<batches {
                let indices = Array(order[(b * recipe.batchSize)..<min(data.count, (b + 1) * recipe.batchSize)])
                let (_, grads, moved) = batchGradients(classifier, parameters, data, indices, workers: 1)
                parameters = optimizer.step(parameters, grads)
                for (i, value) in moved { parameters[i] = value }
            }
        }
        return parameters
    }
}
