import Autodiff
import Foundation
import Specs
import Vocabulary

extension ZooManifest {
    /// Decodes and checks a manifest's bytes; `source` names it in errors. Every manifest
    /// Amnesia reads comes through here (and the fuzz target drives it with hostile bytes).
    public static func parse(_ data: Data, source: String) throws -> ZooManifest {
        let manifest: ZooManifest
        do {
            manifest = try JSONDecoder().decode(ZooManifest.self, from: data)
        } catch let error as DecodingError {
            throw ZooError("\(source) is not a valid zoo manifest (\(schemaID)): \(SpecFile.describe(error)); retrain the zoo or restore the file")
        } catch {
            throw ZooError("\(source) is not a valid zoo manifest (\(schemaID)): \(error.localizedDescription)")
        }
        guard manifest.schema == schemaID else {
            throw ZooError("\(source) has schema '\(manifest.schema)', expected '\(schemaID)'")
        }
        if let stray = manifest.victims.first(where: { !VictimRole.zooRoles.contains($0.role) }) {
            throw ZooError("\(source): victim '\(stray.id)' has role '\(stray.role.rawValue)'; a zoo's victims are crafting or heldout")
        }
        if let problem = manifest.problem { throw ZooError("\(source): \(problem)") }
        return manifest
    }

    /// Why this manifest cannot be trusted, or nil. A manifest is read from disk and may have
    /// been edited: every name that becomes a path must stay inside the zoo's folder, and no
    /// held-out victim may be a crafting victim under another id (its "held-out" score would
    /// then include weights the poison was crafted on).
    public var problem: String? {
        if let message = SafeName.describe(spec.name, key: "spec.name") { return message }
        for victim in victims {
            if let message = SafeName.describe(victim.file, key: "victim '\(victim.id)' file") { return message }
        }
        let crafting = victims.filter { $0.role == .crafting }
        for victim in victims where victim.role == .heldout {
            if let twin = crafting.first(where: { $0.file == victim.file || $0.sha256 == victim.sha256 }) {
                let same = twin.file == victim.file ? "file \(victim.file)" : "weights (SHA-256 \(victim.sha256.prefix(12))…)"
                return "held-out victim '\(victim.id)' has the same \(same) as crafting victim '\(twin.id)': held-out results would include a victim the poison was crafted on; remove one of them"
            }
        }
        return duplicateProblem
    }

    /// Two records of one victim (the same id, file or weights): each would count as a
    /// held-out victim of its own, weighting one network twice in every mean.
    private var duplicateProblem: String? {
        for (index, victim) in victims.enumerated() {
            guard let twin = victims[..<index].first(where: { $0.id == victim.id || $0.file == victim.file || $0.sha256 == victim.sha256 }) else { continue }
            let same = twin.id == victim.id ? "id" : twin.file == victim.file ? "file \(victim.file)" : "weights (SHA-256 \(victim.sha256.prefix(12))…)"
            return "victims '\(twin.id)' and '\(victim.id)' have the same \(same): one network would count twice in every result; remove one of them"
        }
        return nil
    }
}

extension VictimRecord {
    /// A warning for a victim whose test accuracy is below twice chance (1 / classes): legal,
    /// but such a victim is barely a classifier, so attack numbers on it mean little.
    public static func accuracyWarning(_ accuracy: Double, classes: Int) -> String? {
        let floor = 2 / Double(max(classes, 1))
        guard accuracy < floor else { return nil }
        return "test accuracy \(String(format: "%.4f", accuracy)) is below twice chance (\(String(format: "%.2f", floor))): check the recipe or the weights"
    }
}

/// Why imported weights cannot be a trained classifier, or nil: a non-finite value, or a
/// weight tensor (rank ≥ 2) that is all zeros, both of which a trained network never has.
func weightsProblem(_ parameters: [Tensor], names: [String]) -> String? {
    for (name, tensor) in zip(names, parameters) {
        let values = tensor.scalars
        if let bad = values.first(where: { !$0.isFinite }) { return "'\(name)' holds \(bad)" }
        if tensor.shape.count >= 2, values.allSatisfy({ $0 == 0 }) { return "'\(name)' is all zeros" }
    }
    return nil
}
