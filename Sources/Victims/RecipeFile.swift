import Foundation
import Specs

extension TrainingRecipe {
    /// A recipe stated on its own (`audit --recipe`): the keys of a zoo spec's `training:`
    /// section at the top level, each one missing taking its default, unknown keys refused
    /// and every value checked, errors naming `document`'s file, the key and its line.
    public static func parse(_ document: SpecDocument) throws -> TrainingRecipe {
        let recipe = try document.decode(TrainingRecipe.self)
        do { try recipe.validate() } catch {
            throw SpecError(file: document.file, error.message.replacingOccurrences(of: "training.", with: ""))
        }
        return recipe
    }

    /// The recipe in the YAML file at `url` (see `parse`).
    public static func load(_ url: URL) throws -> TrainingRecipe {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw SpecError(file: url.path, "cannot read the recipe (\(error.localizedDescription)); check the path")
        }
        return try parse(SpecDocument(yaml: text, file: url.path))
    }
}
