import Datasets
import Foundation
import Networks
import Poisoning
import Results

/// What to evaluate: a poison, the victims to score it on, the controls to compare it
/// with and the probes and defenses to run. K and T come from the poison. `amnesia run`,
/// `amnesia evaluate` and the audit all describe their evaluation as a plan, and
/// `EvaluationPlan.run` is the one path that scores it.
public struct EvaluationPlan: Sendable {
    public var poison: PoisonSet
    /// The victims the headline numbers come from (never seen while crafting).
    public var heldout: [EvaluatedVictim]
    /// With fixed knowledge: the victim the poison was crafted on.
    public var known: [EvaluatedVictim] = []
    /// The crafting victims (how well the poison fits what it saw).
    public var crafting: [EvaluatedVictim] = []
    /// Held-out victims trained with recipes crafting never used (models trained elsewhere).
    public var foreign: [EvaluatedVictim] = []
    /// Controls scored on the held-out victims beside the poison.
    public var controls: [Control] = []
    /// Other ways of taking the update (probes), each scored on the held-out victims.
    public var updates: [any VictimUpdate] = []
    /// Defenses the victims deploy: the poison and every control are scored under each.
    public var defenses: [any VictimUpdate] = []
    /// What chooses the controls' step sizes: the scorer that fits the step size of a
    /// poison whose method learns none (the attacker's victims and training images, never
    /// the held-out victims or the test split), so poison and controls are chosen alike.
    public var scorer: StepSizeScorer?
    /// The pair's oracle, run on every held-out, known and foreign victim so that each
    /// result (controls and defenses too) reads against it; nil: no oracle columns.
    public var oracle: Oracle?

    public init(poison: PoisonSet, heldout: [EvaluatedVictim]) {
        (self.poison, self.heldout) = (poison, heldout)
    }

    /// A control: a poison the crafted one must beat (nil: no poison at all).
    public struct Control: Sendable {
        public let key: String
        public let description: String
        public let poison: PoisonSet?

        public init(key: String, description: String, poison: PoisonSet?) {
            (self.key, self.description, self.poison) = (key, description, poison)
        }
    }
}

/// One way of taking the update, scored on a set of victims.
public struct UpdateResult: Sendable {
    public let key: String
    public let description: String
    /// Victims that took the update (a defense may refuse it).
    public let accepted: Int
    public var victims: VictimSetResult
    /// A detector's counts per victim (empty for every other update).
    public var detections: [DetectionCounts] = []
}

/// A control's score and the step size it was given.
public struct ControlResult: Sendable {
    public let key: String
    public let description: String
    public let stepSize: Float
    public let victims: VictimSetResult
}

/// The poison and the controls under one defense, on the held-out victims.
public struct DefenseResult: Sendable {
    public let key: String
    public let description: String
    public let poison: UpdateResult
    /// By control key (the no-poison control is left out: a defense of no update is moot).
    public let controls: [String: UpdateResult]
}

/// Everything a plan measured.
public struct EvaluationResults: Sendable {
    public let heldout: VictimSetResult
    public let known: VictimSetResult?
    public let crafting: VictimSetResult?
    public let foreign: VictimSetResult?
    public let controls: [ControlResult]
    public let updates: [UpdateResult]
    public let defenses: [DefenseResult]
    /// The oracle's recipe in words (nil: no oracle was run).
    public var oracleRecipe: String?
}

extension EvaluationPlan {
    /// Scores the plan with `classifier` on `images` (the test split).
    public func run(classifier: any Classifier, images: LabeledImages, workers: Int = 2,
                    progress: (String) -> Void = { _ in }) throws -> EvaluationResults {
        let (k, t) = (poison.metadata.forget, poison.metadata.target)
        let evaluator = Evaluator(classifier: classifier, images: images, forget: k, target: t)
        try evaluator.check(poison)
        progress("evaluating the poison on \(heldout.count) held-out victims")
        let before = evaluator.baseline(heldout, workers: workers)
        let heldoutResult = evaluator.evaluate(heldout, poison: poison, before: before, workers: workers).victims
        let knownResult = known.isEmpty ? nil : evaluator.evaluate(known, poison: poison, workers: workers).victims
        let craftingResult = crafting.isEmpty ? nil : evaluator.evaluate(crafting, poison: poison, workers: workers).victims
        if !foreign.isEmpty { progress("evaluating the poison on \(foreign.count) foreign-recipe held-out victims") }
        let foreignResult = foreign.isEmpty ? nil : evaluator.evaluate(foreign, poison: poison, workers: workers).victims

        if !controls.isEmpty { progress("scoring the controls (\(controls.map(\.key).joined(separator: ", ")))") }
        var chosenControls: [(key: String, poison: PoisonSet)] = []
        let controlResults = controls.map { control -> ControlResult in
            guard var chosen = control.poison else {
                return ControlResult(key: control.key, description: control.description, stepSize: 0,
                                     victims: evaluator.evaluate(heldout, poison: nil, before: before).victims)
            }
            if let scorer { chosen = scorer.fitted(chosen) }
            chosenControls.append((control.key, chosen))
            return ControlResult(key: control.key, description: control.description, stepSize: chosen.stepSizes[0],
                                 victims: evaluator.evaluate(heldout, poison: chosen, before: before, workers: workers).victims)
        }

        if !updates.isEmpty { progress("probing \(updates.map(\.key).joined(separator: ", "))") }
        let updateResults = updates.map { evaluator.evaluate(heldout, poison: poison, update: $0, before: before, workers: workers) }

        if !defenses.isEmpty { progress("defending with \(defenses.map(\.key).joined(separator: ", "))") }
        let defenseResults = defenses.map { defense in
            DefenseResult(key: defense.key, description: defense.description,
                          poison: evaluator.evaluate(heldout, poison: poison, update: defense, before: before, workers: workers),
                          controls: Dictionary(uniqueKeysWithValues: chosenControls.map { control in
                              (control.key, evaluator.evaluate(heldout, poison: control.poison, update: defense, before: before,
                                                               workers: workers))
                          }))
        }
        let results = EvaluationResults(heldout: heldoutResult, known: knownResult, crafting: craftingResult,
                                        foreign: foreignResult, controls: controlResults, updates: updateResults,
                                        defenses: defenseResults)
        guard let oracle else { return results }
        let oracles = try oracle.metrics(heldout + known + foreign, evaluator: evaluator, workers: workers, progress: progress)
        var withOracles = results.withOracles(oracles, forget: k)
        withOracles.oracleRecipe = oracle.recipe.summary
        return withOracles
    }
}

extension EvaluationResults {
    /// Every victim set with its victims' oracle metrics attached (by victim id).
    func withOracles(_ oracles: [String: ClassMetrics], forget: Int) -> EvaluationResults {
        func attach(_ update: UpdateResult) -> UpdateResult {
            var update = update
            update.victims = update.victims.withOracles(oracles, forget: forget)
            return update
        }
        return EvaluationResults(
            heldout: heldout.withOracles(oracles, forget: forget), known: known?.withOracles(oracles, forget: forget),
            crafting: crafting, foreign: foreign?.withOracles(oracles, forget: forget),
            controls: controls.map { ControlResult(key: $0.key, description: $0.description, stepSize: $0.stepSize,
                                                   victims: $0.victims.withOracles(oracles, forget: forget)) },
            updates: updates.map(attach),
            defenses: defenses.map { DefenseResult(key: $0.key, description: $0.description, poison: attach($0.poison),
                                                   controls: $0.controls.mapValues(attach)) })
    }
}
