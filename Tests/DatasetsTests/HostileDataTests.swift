import Datasets
import Foundation
import Testing
import TestSupport

@Suite("Hostile dataset inputs")
struct HostileDataTests {
    @Test("test images of another size than the training images are an error, not a trap in the network's geometry")
    func splitShapesDiffer() throws {
        var rng = SplitMix64(seed: 3)
        let train = try Synthetic.make(classes: 2, perClass: 4, channels: 1, height: 28, width: 28, noise: 0.1, using: &rng)
        let test = try Synthetic.make(classes: 2, perClass: 4, channels: 1, height: 32, width: 32, noise: 0.1, using: &rng)
        let error = #expect(throws: DatasetError.self) { try PreparedData(splits: DatasetSplits(train: train, test: test)) }
        #expect(error?.kind == .sizeMismatch)
        #expect(error?.description.contains("the test images are [1, 32, 32] but the training images are [1, 28, 28]") == true)
    }
}
