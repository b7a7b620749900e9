import Foundation
import Specs
import Testing
import TestSupport
import Victims

@Suite("A recipe stated on its own (audit --recipe)")
struct RecipeFileTests {
    @Test("a file of training: keys reads like a zoo spec's training section, missing keys at their defaults")
    func reads() throws {
        try withTempDir { root in
            let url = root.appendingPathComponent("recipe.yaml")
            try "optimizer: adamw\nlearning_rate: 0.001\nschedule: cosine\nepochs: 10\naugmentation: {flip: true}\n"
                .write(to: url, atomically: true, encoding: .utf8)
            let recipe = try TrainingRecipe.load(url)
            var expected = TrainingRecipe()
            (expected.optimizer, expected.learningRate, expected.schedule, expected.epochs) = (.adamw, 0.001, .cosine, 10)
            (expected.decayEpochs, expected.augmentation.flip) = ([], true)
            #expect(recipe == expected)
            #expect(try TrainingRecipe.parse(SpecDocument(yaml: "{}", file: "--recipe")) == TrainingRecipe())
        }
    }

    @Test("an unknown key, a bad value or a missing file is an error naming the file, the key and what to do")
    func errors() throws {
        let cases: [(String, [String])] = [
            ("epoch: 10", ["--recipe: ", "unknown key 'epoch'", "allowed keys:", "epochs"]),
            ("training: {epochs: 10}", ["unknown key 'training'"]),
            ("optimizer: rmsprop", ["'rmsprop' is not one of: sgd, adam, adamw", "line 1"]),
            ("schedule: cosine\nwarmup_epochs: 9", ["--recipe: warmup_epochs must be 0…3"]),
            ("batch_size: 0", ["--recipe: batch_size must be 1…"]),
        ]
        for (yaml, fragments) in cases {
            let text = errorText { _ = try TrainingRecipe.parse(SpecDocument(yaml: yaml, file: "--recipe")) }
            #expect(fragments.allSatisfy(text.contains) && !text.contains("training.warmup"), "\(yaml): \(text)")
        }
        let missing = errorText { _ = try TrainingRecipe.load(URL(fileURLWithPath: "/nonexistent/recipe.yaml")) }
        #expect(missing.contains("/nonexistent/recipe.yaml: cannot read the recipe"), "\(missing)")
    }
}
