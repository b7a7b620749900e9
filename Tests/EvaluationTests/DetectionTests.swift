import Autodiff
import Datasets
import Evaluation
import Networks
import Poisoning
import Results
import Testing

@Suite("Feature-space detection")
struct DetectionTests {
    /// `clean` rows of standard normal features in 12 dimensions, then `planted` rows
    /// shifted by 6 along one axis: an obvious outlier group.
    static func features(clean: Int, planted: Int, seed: UInt64 = 4) -> [[Double]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(clean + planted)).map { i in
            (0..<12).map { j in Double(rng.nextNormal()) + (i >= clean && j == 3 ? 6 : 0) }
        }
    }

    @Test("spectral signatures and activation clustering flag exactly a planted outlier group")
    func planted() {
        let rows = Self.features(clean: 90, planted: 10)
        let planted = Set(90..<100)
        #expect(Set(SpectralSignatures(fraction: 0.1, clean: 0).flagged(rows)) == planted)
        #expect(Set(ActivationClustering(maxShare: 0.35, clean: 0).flagged(rows)) == planted)
    }

    @Test("activation clustering flags nothing when a label is one blob (its 2-means halves are both large)")
    func oneBlob() {
        #expect(ActivationClustering(maxShare: 0.35, clean: 0).flagged(Self.features(clean: 100, planted: 0)).isEmpty)
        #expect(SpectralSignatures(fraction: 0.1, clean: 0).flagged(Self.features(clean: 100, planted: 0)).count == 10,
                "spectral always removes its fraction")
    }

    @Test("TPR, FPR and F1 from counts; counts of steps add up; the report averages victims")
    func rates() {
        let a = DetectionCounts(flaggedPoison: 8, poison: 10, flaggedClean: 5, clean: 100)
        #expect(a.tpr == 0.8 && a.fpr == 0.05 && abs(a.f1 - 16.0 / 23.0) < 1e-12)
        let none = DetectionCounts(flaggedPoison: 0, poison: 10, flaggedClean: 0, clean: 100)
        #expect(none.tpr == 0 && none.fpr == 0 && none.f1 == 0)
        let both = a + DetectionCounts(flaggedPoison: 2, poison: 10, flaggedClean: 0, clean: 50)
        #expect(both == DetectionCounts(flaggedPoison: 10, poison: 20, flaggedClean: 5, clean: 150))
        let report = DetectionReport([a, none])
        #expect(report.tpr.mean == 0.4 && report.fpr.max == 0.05 && report.victims.count == 2)
    }

    /// A poison of 8 saturated images among 150 clean training images: outliers in any
    /// network's features.
    static func brightPoison() -> PoisonSet {
        var poison = Fixture.poison()
        poison.images = Tensor(shape: poison.images.shape, scalars: [Float](repeating: 8, count: poison.images.count))
        return poison
    }

    @Test("screening the mixed batch finds the planted poison, counts poison and clean, and steps on what it keeps")
    func screening() throws {
        let victim = Fixture.victims()[0].parameters
        let mix = Dilution(count: 150, train: Fixture.data.train, seed: 3)
        for detector in [SpectralSignatures(fraction: 0.1, clean: 150), ActivationClustering(maxShare: 0.35, clean: 150)] as [any FeatureDetector] {
            let screening = FeatureScreening(detector: detector, mix: mix)
            let outcome = screening.apply(victim, poison: Self.brightPoison(), classifier: Fixture.net)
            let counts = try #require(outcome.detection)
            #expect(counts.flaggedPoison == 8 && counts.poison == 8 && counts.clean == 150, "\(detector.spec.key): \(counts)")
            #expect(counts.fpr < 0.1, "\(detector.spec.key): \(counts)")
            // The victim stepped on the clean images the detector kept, nothing else.
            let step = Self.brightPoison().step(0, classes: 4)
            let (images, targets) = mix.mixed(step.images, step.targets)
            let flagged = screening.flagged(images, targets: targets, parameters: victim, classifier: Fixture.net)
            let keptClean = (8..<158).filter { !flagged.contains($0) }
            let kept = PoisonSet(images: Tensor(shape: [keptClean.count, 1, 28, 28], scalars: keptClean.flatMap { r in
                images.scalars[(r * 784)..<((r + 1) * 784)] }), labels: keptClean.map { r in
                (0..<4).max { targets.scalars[r * 4 + $0] < targets.scalars[r * 4 + $1] }! },
                stepSizes: [0.3], steps: 1, epochs: 1, metadata: Fixture.poison().metadata)
            let expected = PlainUpdate().apply(victim, poison: kept, classifier: Fixture.net).parameters
            #expect(distance(outcome.parameters, expected) < 1e-5)
        }
    }

    @Test("a plan scores poison and controls under a detector and keeps its counts per victim")
    func plan() throws {
        var plan = EvaluationPlan(poison: Self.brightPoison(), heldout: Fixture.victims())
        plan.controls = [.init(key: "real", description: "r", poison: Fixture.poison())]
        plan.defenses = [DefenseSpec.spectral(clean: 40, fraction: 0.2).update(validation: Fixture.data.train, train: Fixture.data.train, seed: 2)]
        let results = try plan.run(classifier: Fixture.net, images: Fixture.data.test, workers: 1)
        let defended = try #require(results.defenses.first)
        #expect(defended.key == "spectral:clean=40,fraction=0.2")
        #expect(defended.poison.detections.count == 2 && defended.poison.detections.allSatisfy { $0.poison == 8 && $0.clean == 40 })
        #expect(defended.controls["real"]?.detections.count == 2, "the control is screened too")
    }
}
