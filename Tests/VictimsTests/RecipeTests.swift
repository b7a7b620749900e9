import Autodiff
import Datasets
import Foundation
import Networks
import Specs
import Testing
import TestSupport
import Victims

@Suite("Training recipes")
struct RecipeTests {
    static func decode(_ training: String) throws -> TrainingRecipe {
        try ZooSpec.parse(yaml: "name: z\ntraining: \(training)\n", file: "z.yaml").training
    }

    @Test("modern recipe keys decode, and an entry switching schedule or optimizer inherits neither's own keys")
    func keys() throws {
        let recipe = try Self.decode("""
            {optimizer: sgd, nesterov: true, schedule: cosine, warmup_epochs: 2, final_learning_rate: 0.001, \
            label_smoothing: 0.1, augmentation: {crop: 4, flip: true}, epochs: 20, batch_size: 512, initialization: xavier}
            """)
        #expect(recipe.nesterov && recipe.schedule == .cosine && recipe.warmupEpochs == 2 && recipe.finalLearningRate == 0.001)
        #expect(recipe.labelSmoothing == 0.1 && recipe.augmentation == Augmentation(crop: 4, flip: true))
        #expect(recipe.decayEpochs.isEmpty, "cosine does not inherit the default step decay's epochs")
        #expect((recipe.epochs, recipe.batchSize, recipe.initialization) == (20, 512, .xavierNormal))

        let spec = try ZooSpec.parse(yaml: """
            name: z
            training: {nesterov: true, schedule: cosine, warmup_epochs: 1}
            heldout_recipes:
              - {schedule: one-cycle, pct_start: 0.25}
              - {schedule: step}
              - {optimizer: adamw, weight_decay: 0.05}
            """, file: "z.yaml")
        let (oneCycle, step, adamw) = (spec.heldoutRecipes[0], spec.heldoutRecipes[1], spec.heldoutRecipes[2])
        #expect(oneCycle.warmupEpochs == nil && oneCycle.pctStart == 0.25 && oneCycle.nesterov)
        #expect(step.schedule == .step && step.decayEpochs.isEmpty && step.warmupEpochs == nil)
        #expect(adamw.optimizer == .adamw && !adamw.nesterov && adamw.warmupEpochs == 1 && adamw.weightDecay == 0.05)
        // A manifest stores recipes as JSON: they read back the same.
        let json = try JSONEncoder().encode(spec.heldoutRecipes)
        #expect(try JSONDecoder().decode([TrainingRecipe].self, from: json) == spec.heldoutRecipes)
        #expect(try JSONDecoder().decode(TrainingRecipe.self, from: Data(#"{"optimizer":"adam","decay_epochs":[2]}"#.utf8)).schedule == .step)
    }

    @Test("a bad recipe value names the file, the key, the value and what is allowed")
    func badValues() throws {
        let cases: [(String, [String])] = [
            ("{schedule: linear}", ["training.schedule", "'linear' is not one of: step, cosine, one-cycle"]),
            ("{optimizer: rmsprop}", ["training.optimizer", "'rmsprop' is not one of: sgd, adam, adamw"]),
            ("{initialization: he}", ["training.initialization", "'he' is not one of: pytorch, xavier"]),
            ("{optimizer: adam, nesterov: true}", ["training.nesterov needs optimizer sgd", "adam"]),
            ("{nesterov: true, momentum: 0}", ["training.nesterov needs optimizer sgd with a momentum above 0"]),
            ("{warmup_epochs: 1}", ["training.warmup_epochs is for schedule cosine only (schedule is step)"]),
            ("{schedule: one-cycle, decay_epochs: [2]}", ["training.decay_epochs is for schedule step only"]),
            ("{schedule: cosine, pct_start: 0.3}", ["training.pct_start is for schedule one-cycle only"]),
            ("{schedule: cosine, warmup_epochs: 4, epochs: 4}", ["training.warmup_epochs must be 0…3", "got 4"]),
            ("{schedule: cosine, final_learning_rate: 0.5}", ["final_learning_rate must be at least 0 and below learning_rate"]),
            ("{schedule: one-cycle, pct_start: 1.5}", ["training.pct_start must be in (0, 1) (got 1.5)"]),
            ("{label_smoothing: 1}", ["training.label_smoothing must be in [0, 1) (got 1.0)"]),
            ("{augmentation: {crop: -1}}", ["training.augmentation.crop must be 0", "got -1"]),
            ("{augmentation: {rotate: 5}}", ["unknown key 'rotate'", "allowed keys: crop, flip"]),
        ]
        for (training, fragments) in cases {
            let text = errorText { _ = try Self.decode(training) }
            #expect(text.hasPrefix("z.yaml: ") && fragments.allSatisfy(text.contains), "\(training): \(text)")
        }
        let listed = errorText { _ = try ZooSpec.parse(yaml: "name: z\nheldout_recipes:\n  - {}\n  - {schedule: cosine, decay_epochs: [1]}\n", file: "z.yaml") }
        #expect(listed.contains("heldout_recipes[1]: decay_epochs is for schedule step only"), "\(listed)")
        let crop = errorText {
            var spec = ZooSpec(name: "crop")
            (spec.dataset, spec.crafting, spec.heldout, spec.training.augmentation.crop) = ("synthetic", 1, 0, 28)
            _ = try Zoo.train(spec: spec, root: try temporaryDirectory())
        }
        #expect(crop.contains("augmentation.crop 28 must be below the images' side (28 pixels)"), "\(crop)")
    }

    @Test("label smoothing gives PyTorch's CrossEntropyLoss(label_smoothing:) value")
    func labelSmoothing() {
        let logits = Tensor(shape: [2, 3], scalars: [2, 0.5, -1, 0.1, 0.2, 0.3])
        let loss = { (smoothing: Float) in crossEntropy(logits, targets: Trainer.smoothedTargets([0, 2], classes: 3, smoothing: smoothing)).item }
        // torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, tensor([0, 2])) = 0.70162714; without smoothing 0.62162709 (torch 2.13).
        #expect(abs(loss(0.1) - 0.70162714) < 1e-6)
        #expect(abs(loss(0) - 0.62162709) < 1e-6)
        #expect(Trainer.smoothedTargets([1], classes: 4, smoothing: 0).scalars == [0, 1, 0, 0])
    }

    @Test("crop shifts the image and fills with the given value, flip mirrors it, as torchvision's crop then flip")
    func augmentationViews() {
        let image = Tensor(shape: [2, 1, 3, 3], scalars: (1...9).map(Float.init) + (1...9).map(Float.init))
        let views = [Augmentation.View(dy: 1, dx: 0, mirrored: true), Augmentation.View(dy: 0, dx: -1, mirrored: false)]
        let out = Augmentation.apply(views, to: image, fill: [-7]).scalars
        #expect(Array(out[0..<9]) == [6, 5, 4, 9, 8, 7, -7, -7, -7])
        #expect(Array(out[9..<18]) == [-7, 1, 2, -7, 4, 5, -7, 7, 8])
    }

    @Test("augmentation draws are seeded and within range; none is drawn when augmentation is off")
    func augmentationDraws() {
        var (a, b) = (SeededGenerator(seed: 4), SeededGenerator(seed: 4))
        let augmentation = Augmentation(crop: 2, flip: true)
        let views = augmentation.draw(count: 200, using: &a)
        #expect(views == augmentation.draw(count: 200, using: &b))
        #expect(Set(views.map(\.dy)) == Set(-2...2) && Set(views.map(\.dx)) == Set(-2...2) && Set(views.map(\.mirrored)) == [true, false])
        #expect(Augmentation(crop: 0, flip: true).draw(count: 50, using: &a).allSatisfy { $0.dy == 0 && $0.dx == 0 })
        var before = a
        #expect(Augmentation().draw(count: 50, using: &a).isEmpty && a.next() == before.next(), "no augmentation leaves the generator as it was")
    }

    @Test("the step schedule keeps the rates of decaying the optimizer's rate in place, bit for bit")
    func stepSchedule() {
        var recipe = TrainingRecipe()
        (recipe.epochs, recipe.learningRate, recipe.decayEpochs, recipe.decay) = (6, 0.01, [2, 4], 0.3)
        let schedule = recipe.makeSchedule(stepsPerEpoch: 5)
        var rate = recipe.learningRate
        for epoch in 0..<6 {
            if recipe.decayEpochs.contains(epoch) { rate *= recipe.decay }
            #expect((0..<5).allSatisfy { schedule.rate(at: epoch * 5 + $0) == rate && schedule.momentum(at: epoch * 5 + $0) == nil })
        }
        recipe.schedule = .oneCycle
        #expect(recipe.makeSchedule(stepsPerEpoch: 5).momentum(at: 0) == 0.95, "one-cycle sets the momentum from its first step")
    }

    @Test("modern recipes train victims that learn, reproducibly, with each recipe in the manifest")
    func modernRecipesLearn() throws {
        let root = try temporaryDirectory()
        let spec = try ZooSpec.parse(yaml: """
            name: modern
            dataset: synthetic
            crafting: 0
            heldout: 4
            seed: 5
            training: {epochs: 3, batch_size: 16, optimizer: sgd, learning_rate: 0.05, nesterov: true, schedule: cosine, warmup_epochs: 1}
            heldout_recipes:
              - {label_smoothing: 0.1, augmentation: {crop: 2, flip: true}}
              - {optimizer: adamw, learning_rate: 0.003, weight_decay: 0.05, schedule: one-cycle}
              - {schedule: one-cycle, learning_rate: 0.1, batch_size: 32, augmentation: {flip: true}}
              - {optimizer: adam, learning_rate: 0.002, weight_decay: 0.0001, final_learning_rate: 0.0001}
            """, file: "modern.yaml")
        let zoo = try Zoo.train(spec: spec, root: root, workers: 2)
        #expect(zoo.heldout.allSatisfy { $0.testAccuracy > 0.9 }, "\(zoo.heldout.map(\.testAccuracy))")
        #expect(zoo.heldout.map(\.recipe) == spec.heldoutRecipes)
        let again = try Zoo.train(spec: spec, root: try temporaryDirectory(), workers: 1)
        #expect(again.heldout.map(\.sha256) == zoo.heldout.map(\.sha256), "same seeds, same weights")
    }
}

@Suite("Shipped foreign and modern zoos")
struct ShippedRecipeZooTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("victims")

    static func specs() throws -> [ZooSpec] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { try ZooSpec.load(folder.appendingPathComponent($0)) }
    }

    /// The seeds a zoo trains with.
    static func seeds(_ spec: ZooSpec) -> Set<UInt64> {
        Set((0..<UInt64(spec.crafting)).map { spec.seed + $0 }
            + (0..<UInt64(spec.heldout)).map { spec.seed + ZooSpec.heldoutSeedOffset + $0 })
    }

    @Test("the foreign zoo: 16+ held-out victims of modern recipes no crafting zoo uses, with seeds of its own")
    func foreign() throws {
        let specs = try Self.specs()
        let foreign = try #require(specs.first { $0.name == "fashion-lenet-foreign" })
        let recipes = (0..<foreign.heldout).map { foreign.recipe(crafting: false, index: $0) }
        #expect(foreign.crafting == 0 && foreign.heldout >= 16 && Set(foreign.heldoutRecipes.map { "\($0)" }).count == foreign.heldout)
        #expect(recipes.allSatisfy { $0.schedule != .step && (10...20).contains($0.epochs) && (32...512).contains($0.batchSize) })
        #expect(recipes.allSatisfy { $0.optimizer == .adamw ? (0.01...0.05).contains($0.weightDecay) : $0.nesterov })
        #expect(Set(recipes.map(\.schedule)) == [.cosine, .oneCycle] && recipes.contains { $0.warmupEpochs != nil })
        #expect(recipes.contains { $0.labelSmoothing == 0.1 } && recipes.contains { $0.augmentation == Augmentation(crop: 4, flip: true) })
        let others = specs.filter { $0.name != foreign.name }
        let craftingRecipes = others.flatMap { [$0.training] + $0.craftingRecipes }
        #expect(!recipes.contains(where: craftingRecipes.contains), "a crafting zoo trains with a foreign recipe")
        for other in others { #expect(Self.seeds(foreign).isDisjoint(with: Self.seeds(other)), "\(other.name) shares seeds") }
        #expect(specs.contains { $0.name == "fashion-lenet-foreign-legacy" && $0.heldout == 8 })
    }

    @Test("the main command's quick foreign zoo: held-out victims of recipes of the foreign zoo, with seeds of its own")
    func quickForeign() throws {
        let specs = try Self.specs()
        let foreign = try #require(specs.first { $0.name == "fashion-lenet-foreign" })
        let quick = try #require(specs.first { $0.name == "fashion-lenet-foreign-quick" })
        let foreignRecipes = (0..<foreign.heldout).map { foreign.recipe(crafting: false, index: $0) }
        #expect(quick.crafting == 0 && quick.heldout >= 4)
        for j in 0..<quick.heldout { #expect(foreignRecipes.contains(quick.recipe(crafting: false, index: j)), "recipe \(j)") }
        for other in specs where other.name != quick.name {
            #expect(Self.seeds(quick).isDisjoint(with: Self.seeds(other)), "\(other.name) shares seeds")
        }
    }

    @Test("the modern crafting zoo spans annealed and non-annealed recipes, with snapshots and seeds of its own")
    func modern() throws {
        let specs = try Self.specs()
        let modern = try #require(specs.first { $0.name == "fashion-lenet-modern" })
        #expect(modern.crafting >= 16 && !modern.snapshotEpochs.isEmpty && modern.heldoutRecipes == modern.craftingRecipes)
        #expect(Set(modern.craftingRecipes.map(\.schedule)) == [.step, .cosine, .oneCycle])
        #expect(Set(modern.craftingRecipes.map(\.optimizer)) == [.sgd, .adam, .adamw])
        for other in specs where other.name != modern.name {
            #expect(Self.seeds(modern).isDisjoint(with: Self.seeds(other)), "\(other.name) shares seeds")
        }
    }
}
