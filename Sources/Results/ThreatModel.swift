import Vocabulary

/// The threat model, stated in every report so a reader knows exactly what was claimed.
public struct ThreatModel: Codable, Equatable, Sendable {
    /// The MITRE ATLAS techniques this attack instantiates.
    public static let atlasTechniques = ["AML.T0020", "AML.T0018.000"]

    /// What the attacker knows about the victim's weights.
    public var knowledge: Knowledge
    /// Class K, whose test images should be predicted as T after the step.
    public var forgetClass: Int
    /// Class T.
    public var targetClass: Int
    /// Human name of K.
    public var forgetName: String
    /// Human name of T.
    public var targetName: String
    /// Number of poison images M.
    public var poisonImages: Int
    /// Gradient steps per epoch over the poison.
    public var steps: Int
    /// Epochs over the poison.
    public var epochs: Int
    /// MITRE ATLAS technique ids.
    public var atlas: [String]
    /// One plain-English paragraph stating the threat model.
    public var summary: String

    enum CodingKeys: String, CodingKey {
        case knowledge
        case forgetClass = "forget_class"
        case targetClass = "target_class"
        case forgetName = "forget_name"
        case targetName = "target_name"
        case poisonImages = "poison_images"
        case steps, epochs, atlas, summary
    }

    /// Creates a threat model; `summary` defaults to `ThreatModel.describe(...)` of the same values
    /// and `atlas` to `ThreatModel.atlasTechniques`.
    public init(knowledge: Knowledge, forgetClass: Int, targetClass: Int,
                forgetName: String, targetName: String, poisonImages: Int,
                steps: Int = 1, epochs: Int = 1,
                atlas: [String] = ThreatModel.atlasTechniques, summary: String? = nil) {
        self.knowledge = knowledge
        self.forgetClass = forgetClass
        self.targetClass = targetClass
        self.forgetName = forgetName
        self.targetName = targetName
        self.poisonImages = poisonImages
        self.steps = steps
        self.epochs = epochs
        self.atlas = atlas
        self.summary = summary ?? ThreatModel.describe(
            knowledge: knowledge, forgetClass: forgetClass, targetClass: targetClass,
            forgetName: forgetName, targetName: targetName, poisonImages: poisonImages,
            steps: steps, epochs: epochs)
    }

    /// The standard plain-English paragraph for these parameters, so every report says the
    /// threat model the same way.
    public static func describe(knowledge: Knowledge, forgetClass: Int, targetClass: Int,
                                forgetName: String, targetName: String, poisonImages: Int,
                                steps: Int, epochs: Int) -> String {
        let updates = steps * epochs
        let stepWords = updates == 1 ? "one gradient-descent step" : "\(updates) gradient-descent steps"
        let knowledgeWords: String
        switch knowledge {
        case .fixed:
            knowledgeWords = "The attacker knows the exact victim weights (white-box, fixed knowledge): "
                + "the poison is crafted on that network, and its transfer to held-out victims "
                + "it never saw is measured as well."
        case .distribution:
            knowledgeWords = "The attacker does not know the victim's weights, only the distribution "
                + "they come from (same architecture, data and training recipe, different seeds): "
                + "the poison is crafted on a crafting zoo and evaluated only on held-out victims "
                + "that crafting never saw."
        }
        return "The victim is a trained classifier that will take \(stepWords) on data the attacker "
            + "supplies, for example a fine-tuning update. The attacker controls \(poisonImages) "
            + "synthetic images, their labels and the step size. The goal: after the update, test "
            + "images of class \(forgetClass) (\(forgetName)) are predicted as class \(targetClass) "
            + "(\(targetName)) while every other class keeps its accuracy. \(knowledgeWords) "
            + "This is MITRE ATLAS AML.T0020 (Poison Training Data) used to achieve "
            + "AML.T0018.000 (Poison ML Model)."
    }
}
