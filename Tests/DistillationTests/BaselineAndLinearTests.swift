import Autodiff
import Datasets
import Distillation
import Foundation
import Networks
import Testing

@Suite("The paper's real-image baselines")
struct RealImageBaselineTests {
    @Test("k-means centroids: perClass per class, labelled by class, each nearer its class's images than the class mean is on average")
    func kmeans() throws {
        let data = try PreparedData.load(dataset: "synthetic")
        let context = try unrolledSteps(AttackSpec(name: "a", zoo: "z", forget: "0", target: "1"), data: data, victims: []).context
        let (images, labels) = KMeansCentroids(context: context, perClass: 3, seed: 5).images()
        #expect(images.shape == [12, 1, 28, 28] && labels == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        // Within-class squared error: 3 centroids fit a class better than its one mean.
        let train = data.train, size = train.imageSize
        let means = ClassMeanImages(context: context).images().images.scalars
        for c in 0..<4 {
            let members = train.indicesByClass()[c]
            func distance(_ i: Int, _ centroid: ArraySlice<Float>) -> Float {
                zip(train.image(at: i), centroid).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            }
            let centroids = (0..<3).map { images.scalars[((c * 3 + $0) * size)..<((c * 3 + $0 + 1) * size)] }
            let kmeansError = members.map { i in centroids.map { distance(i, $0) }.min()! }.reduce(0, +)
            let meanError = members.map { distance($0, means[(c * size)..<((c + 1) * size)]) }.reduce(0, +)
            #expect(kmeansError <= meanError, "class \(c): \(kmeansError) vs \(meanError)")
        }
        #expect(KMeansCentroids(context: context, perClass: 3, seed: 5).images().images.scalars == images.scalars, "seeded")
    }

    @Test("Lloyd's algorithm finds two separated clusters' means")
    func lloyd() {
        let points = Tensor(shape: [6, 2], scalars: [0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10])
        let centroids = KMeansCentroids.centroids(of: points, starting: [0, 1], rounds: 5)
        let pairs: [[Float]] = [[centroids[0], centroids[1]], [centroids[2], centroids[3]]].sorted { $0[0] < $1[0] }
        let expected: [Float] = [1.0 / 3, 1.0 / 3, 31.0 / 3, 31.0 / 3]
        #expect(zip(pairs.flatMap { $0 }, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(pairs)")
    }
}

@Suite("The linear case (Dataset Distillation §3.3)")
struct LinearCaseTests {
    let problem = LinearCase(features: 3, points: 60, seed: 4)

    @Test("the closed form (M = D) takes every initialization to the optimum in one step")
    func closedForm() {
        let distilled = problem.closedForm(scale: 2.5)
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<5 {
            let theta = distilled.step((0..<3).map { _ in 10 * Double(rng.nextNormal()) })
            #expect(zip(theta, problem.optimum).allSatisfy { abs($0 - $1) < 1e-9 })
        }
    }

    @Test("learned: M < D keeps an excess loss whatever is learned, M ≥ D reaches the optimum")
    func learned() {
        let optimum = problem.loss(problem.optimum)
        let excess = (1...4).map { m in
            problem.reached(problem.learn(points: m, iterations: 800, seed: UInt64(m)), initializations: 300, seed: 9).after - optimum
        }
        #expect(excess[0] > excess[1] && excess[1] > 0.05, "M = 1, 2 < D: \(excess)")
        #expect(excess[2] < 1e-3 && excess[3] < 1e-3, "M = 3, 4 ≥ D: \(excess)")
    }

    @Test("with M < D any distilled data leaves a direction of θ₀ untouched (the reason for the bound)")
    func nullSpace() {
        var rng = SeededGenerator(seed: 3)
        let rows = (0..<2).map { _ in (0..<3).map { _ in Double(rng.nextNormal()) } }
        let distilled = LinearCase.Distilled(inputs: rows, targets: [1, -1], stepSize: 0.7)
        // v ⟂ both rows: their cross product.
        let v = [rows[0][1] * rows[1][2] - rows[0][2] * rows[1][1], rows[0][2] * rows[1][0] - rows[0][0] * rows[1][2],
                 rows[0][0] * rows[1][1] - rows[0][1] * rows[1][0]]
        let theta = [0.3, -0.2, 0.5]
        let moved = zip(distilled.step(zip(theta, v).map(+)), distilled.step(theta)).map(-)
        #expect(zip(moved, v).allSatisfy { abs($0 - $1) < 1e-9 }, "step(θ + v) − step(θ) = v")
    }
}
