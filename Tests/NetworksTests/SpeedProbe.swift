import Autodiff
import Networks
import Testing
import Foundation

@Test(.enabled(if: ProcessInfo.processInfo.environment["AMNESIA_PROBE"] != nil))
func speedProbe() throws {
    let net = try LeNet(inputShape: [1, 28, 28], classes: 10)
    var rng = SeededGenerator(seed: 1)
    var p = net.initialParameters(using: &rng)
    let x = Tensor.randomNormal([64, 1, 28, 28], using: &rng)
    let labels = (0..<64).map { $0 % 10 }
    var sgd = SGD(learningRate: 0.01, momentum: 0.9)
    let start = Date()
    for _ in 0..<200 {
        let leaves = p.map { $0.requiringGradient() }
        let loss = crossEntropy(net.logits(x, leaves), labels: labels)
        p = sgd.step(p, gradients(of: loss, wrt: leaves))
    }
    let t = Date().timeIntervalSince(start)
    print("train: \(Double(200 * 64) / t) img/s")
    let x256 = Tensor.randomNormal([256, 1, 28, 28], using: &rng)
    let s2 = Date()
    for _ in 0..<20 {
        let leaves = p.map { $0.requiringGradient() }
        let loss = crossEntropy(net.logits(x256, leaves), labels: (0..<256).map { $0 % 10 })
        _ = gradients(of: loss, wrt: leaves)
    }
    print("fwd+bwd 256: \(Date().timeIntervalSince(s2) / 20 * 1000) ms")
}
