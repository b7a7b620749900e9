import Autodiff
import Networks
import Testing

/// Closed-form values checked against PyTorch 2.13 (CPU): each expected list is what the
/// named torch.optim call printed, stepping the scheduler once per optimizer step.
@Suite("Schedules and optimizers against PyTorch")
struct ScheduleTests {
    static func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test("cosine annealing per step is CosineAnnealingLR; with warm-up, the linear ramp from 0 then cosine")
    func cosine() {
        // CosineAnnealingLR(SGD(lr=0.1), T_max=10): lr before each of 10 steps.
        let plain = CosineAnnealing(peak: 0.1, totalSteps: 10)
        #expect(Self.close((0..<10).map(plain.rate), [0.1, 0.0975528258, 0.0904508497, 0.0793892626, 0.0654508497, 0.05, 0.0345491503, 0.0206107374, 0.0095491503, 0.0024471742]))
        // CosineAnnealingLR(SGD(lr=0.1), T_max=10, eta_min=0.001).
        let floor = CosineAnnealing(peak: 0.1, final: 0.001, totalSteps: 10)
        #expect(Self.close((0..<10).map(floor.rate), [0.1, 0.0975772976, 0.0905463412, 0.07959537, 0.0657963412, 0.0505, 0.0352036588, 0.02140463, 0.0104536588, 0.0034227024]))
        // LambdaLR with get_cosine_schedule_with_warmup's λ (warm-up 3 of 10 steps).
        let warm = CosineAnnealing(peak: 0.1, warmupSteps: 3, totalSteps: 10)
        #expect(Self.close((0..<10).map(warm.rate), [0.0, 0.0333333333, 0.0666666667, 0.1, 0.0950484434, 0.0811744901, 0.0611260467, 0.0388739533, 0.0188255099, 0.0049515566]))
        #expect((0..<10).allSatisfy { plain.momentum(at: $0) == nil })
    }

    @Test("one-cycle's rate and momentum per step are OneCycleLR's (defaults, and pct_start 0.25)")
    func oneCycle() {
        // OneCycleLR(SGD(lr=0.1, momentum=0.9), max_lr=0.1, total_steps=10): lr and momentum.
        let cycle = OneCycle(maxRate: 0.1, totalSteps: 10)
        #expect(Self.close((0..<10).map(cycle.rate), [0.004, 0.052, 0.1, 0.0950484632, 0.0811745654, 0.0611262022, 0.0388741978, 0.0188258346, 0.0049519368, 4e-07]))
        #expect(Self.close((0..<10).map { cycle.momentum(at: $0)! }, [0.95, 0.9, 0.85, 0.8549515566, 0.8688255099, 0.8888739533, 0.9111260467, 0.9311744901, 0.9450484434, 0.95]))
        // OneCycleLR(AdamW(...), max_lr=0.004, total_steps=7, pct_start=0.25): lr and β1.
        let short = OneCycle(maxRate: 0.004, totalSteps: 7, warmupFraction: 0.25)
        #expect(Self.close((0..<7).map(short.rate), [0.00016, 0.003977661742, 0.003466105879, 0.002445048088, 0.001269328874, 0.000347537061, 1.6e-08]))
        #expect(Self.close((0..<7).map { short.momentum(at: $0)! }, [0.95, 0.8505584587, 0.8633474064, 0.8888739533, 0.9182670512, 0.9413119387, 0.95]))
    }

    /// θ = [1, −2, 0.5] after two steps with gradients [0.3, −4, 0.001] then [0.1, 0.5, −0.2].
    static func twoSteps(_ optimizer: inout some Optimizer) -> [Float] {
        var theta = [Tensor(shape: [3], scalars: [1, -2, 0.5])]
        for g: [Float] in [[0.3, -4, 0.001], [0.1, 0.5, -0.2]] { theta = optimizer.step(theta, [Tensor(shape: [3], scalars: g)]) }
        return theta[0].scalars
    }

    @Test("SGD with Nesterov momentum, AdamW and Adam with weight decay take PyTorch's steps")
    func optimizers() {
        // SGD(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
        var nesterov = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        #expect(Self.close(Self.twoSteps(&nesterov), [0.8952019, -1.0032312, 0.5354262]))
        // AdamW(lr=0.01, weight_decay=0.05)
        var adamw = AdamW(learningRate: 0.01, weightDecay: 0.05)
        #expect(Self.close(Self.twoSteps(&adamw), [0.9802946, -1.9822800, 0.4969130]))
        // Adam(lr=0.01, weight_decay=0.05): L2 decay added to the gradient.
        var adam = Adam(learningRate: 0.01, weightDecay: 0.05, pytorchEpsilon: true)
        #expect(Self.close(Self.twoSteps(&adam), [0.9809142, -1.9840550, 0.4963796]))
        adam.momentum = 0.85
        #expect(adam.beta1 == 0.85, "one-cycle moves Adam's β1 through momentum")
    }
}
