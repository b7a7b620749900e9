import Autodiff
import Distillation
import Formats
import Foundation
import Networks
import Specs
import Testing

@Suite("Neural characteristic function matching (NCFM)")
struct NCFMTests {
    /// NCFM on the synthetic 4-class data with `networks` random initializations as the
    /// embedding networks (TinyDistillation).
    func method(networks: Int = 4, _ configure: (inout AttackSpec) -> Void = { _ in }) throws -> NeuralCharacteristicFunction {
        var spec = TinyDistillation.spec(.ncfm)
        configure(&spec)
        return NeuralCharacteristicFunction(spec: spec, context: try TinyDistillation.context(spec, networks: networks))
    }

    /// Two classes: 6 real embeddings (class weights from one-hot labels), 3 synthetic.
    let realWeights = CharacteristicFunction.classWeights(.oneHot([0, 1, 0, 1, 1, 0], classes: 2)).weights
    let syntheticWeights = CharacteristicFunction.classWeights(.oneHot([0, 1, 1], classes: 2)).weights

    func discrepancy(_ real: Tensor, _ synthetic: Tensor, _ frequencies: Tensor) -> Tensor {
        CharacteristicFunction.discrepancy(real: real, realWeights: realWeights, synthetic: synthetic, syntheticWeights: syntheticWeights,
                                           classes: [true, true], frequencies: frequencies, amplitudeWeight: 0.7, phaseWeight: 0.3)
    }

    @Test("the CF discrepancy has the right first and second derivatives in real and synthetic embeddings and in the frequencies")
    func discrepancyGradients() {
        var rng = SeededGenerator(seed: 3)
        let inputs = [[6, 4], [3, 4], [5, 4]].map { Tensor.randomNormal($0, using: &rng) * 0.7 }
        let mismatches = GradientCheck().mismatches(inputs) { discrepancy($0[0], $0[1], $0[2]) }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5).map(\.description).joined(separator: "; "))")
    }

    @Test("the CF discrepancy of single points is the phase term's closed form √(β·2(1 − cos t·(x − y))), and ≈ 0 for equal sets")
    func closedForm() {
        let one = Tensor.oneHot([0], classes: 1)
        let weights = CharacteristicFunction.classWeights(one).weights
        let (x, y, t) = (Tensor(shape: [1, 2], scalars: [0.3, -1]), Tensor(shape: [1, 2], scalars: [1.2, 0.5]),
                         Tensor(shape: [1, 2], scalars: [0.8, 1.1]))
        func cfd(_ a: Tensor, _ b: Tensor) -> Float {
            CharacteristicFunction.discrepancy(real: a, realWeights: weights, synthetic: b, syntheticWeights: weights, classes: [true],
                                               frequencies: t, amplitudeWeight: 0.5, phaseWeight: 0.25).item
        }
        let expected = Float(Foundation.sqrt(0.25 * 2 * (1 - Foundation.cos(0.8 * (0.3 - 1.2) + 1.1 * (-1 - 0.5)))))
        #expect(abs(cfd(x, y) - expected) < 1e-3, "\(cfd(x, y)) vs \(expected)")
        #expect(cfd(x, x) < 2e-3)
    }

    @Test("class weights average each class's members, weighted as the objective weighs them, and mark empty classes")
    func classWeights() {
        let membership = Tensor(shape: [3, 3], scalars: [1, 0, 0, 0, 0, 1.5, 1, 0, 0])
        let (weights, present) = CharacteristicFunction.classWeights(membership)
        #expect(weights.scalars == [0.5, 0, 0.5, 0, 0, 0, 0, 1, 0])
        #expect(present == [true, false, true])
    }

    @Test("the sampler's ascent step raises the discrepancy at its frequencies")
    func samplerAscends() {
        var rng = SeededGenerator(seed: 4)
        let real = Tensor.randomNormal([6, 4], using: &rng), synthetic = Tensor.randomNormal([3, 4], using: &rng) * 0.5
        let noise = Tensor.randomNormal([16, 4], using: &rng)
        var sampler = FrequencySampler(dimensions: 4, scale: 0.5)
        var adam = Adam(learningRate: 0.05)
        let before = sampler.ascend(&adam, noise: noise) { discrepancy(real, synthetic, $0) }
        let after = discrepancy(real, synthetic, sampler.frequencies(noise)).item
        #expect(after > before, "before \(before), after \(after)")
        #expect(sampler.shift.scalars.contains { $0 != 0 })
    }

    @Test("NCFM from noise: one image per class then trains held-out initializations far above its start (noise, near chance)")
    func learns() throws {
        // Measured (2 seeds × default and OPENBLAS_CORETYPE=Haswell AMNESIA_KERNELS=baseline):
        // start 0.25-0.26, NCFM 0.50-0.65, so a gain of at least 0.24; 0.15 keeps a margin
        // float order does not cross, and a switched-off engine (the start) fails it.
        // From noise, not real images: the real start already scores about 0.7, and NCFM's
        // gain over it (or over other real images) did not survive another kernel path.
        let ncfm = try method(networks: 6) { $0.iterations = 60; $0.initialImages = .noise; $0.optimizer.learningRate = 0.1 }
        var state = ncfm.initialState()
        let start = ncfm.poisonSet(state)
        for _ in 0..<ncfm.iterations { ncfm.iterate(&state) }
        // No falling-loss check: each recorded loss is taken after the sampler's ascent step,
        // so the minmax's discrepancy may rise as the sampler finds where the sets differ.
        #expect(state.sampler.logScale.scalars != ncfm.initialState().sampler.logScale.scalars)
        let context = ncfm.context
        let (ncfmAccuracy, startAccuracy) = (TinyDistillation.accuracy(ncfm.poisonSet(state), context: context),
                                             TinyDistillation.accuracy(start, context: context))
        #expect(startAccuracy < 0.35, "the noise start is near chance (0.25): \(startAccuracy)")
        #expect(ncfmAccuracy > startAccuracy + 0.15, "NCFM \(ncfmAccuracy), its starting noise \(startAccuracy)")
    }

    @Test("a checkpoint restores images, the sampler and both Adam moments: resumed iterations repeat exactly")
    func resume() throws {
        let ncfm = try method()
        var straight = ncfm.initialState()
        for _ in 0..<4 { ncfm.iterate(&straight) }
        var first = ncfm.initialState()
        for _ in 0..<2 { ncfm.iterate(&first) }
        var file = SafeTensors(metadata: ["iteration": "2"])
        try first.save(into: &file)
        var resumed = ncfm.initialState()
        try resumed.restore(from: file, source: "test")
        for _ in 0..<2 { ncfm.iterate(&resumed) }
        #expect(resumed.images.scalars == straight.images.scalars && resumed.losses == straight.losses)
        #expect(resumed.sampler.shift.scalars == straight.sampler.shift.scalars)
        #expect(resumed.sampler.logScale.scalars == straight.sampler.logScale.scalars)
    }

    @Test("the ncfm section: decoded strictly, refused without method ncfm, values checked, no learned labels")
    func spec() throws {
        let base = "name: a\nzoo: z\nforget: 0\ntarget: 1\n"
        func problem(_ yaml: String) throws -> String? { try SpecFile.decode(AttackSpec.self, yaml: base + yaml, file: "a.yaml").problem }
        #expect(try problem("method: ncfm\nncfm:\n  frequencies: 64\n  sampler_learning_rate: 0.1\n  amplitude_weight: 1\n") == nil)
        #expect(try problem("ncfm:\n  frequencies: 64\n")?.contains("set method: ncfm") == true)
        #expect(try problem("method: ncfm\nncfm:\n  frequencies: 0\n")?.contains("ncfm.frequencies") == true)
        #expect(try problem("method: ncfm\nncfm:\n  amplitude_weight: 0\n  phase_weight: 0\n")?.contains("both be 0") == true)
        #expect(try problem("method: ncfm\nlearn_labels: true\n")?.contains("learn_labels") == true)
        #expect(try problem("method: ncfm\nsteps: 2\n")?.contains("steps") == true)
        #expect(throws: (any Error).self) { try problem("method: ncfm\nncfm:\n  alpha: 1\n") }
    }
}
