import Datasets
import Testing
import Vocabulary

@Suite("Confusion counts")
struct ConfusionTests {
    @Test("Counts, accuracy and per-class accuracy of hand-made predictions; an absent class scores 0")
    func counts() {
        // 3 classes; class 2 has no image. Class 0: 2 of 3 right; class 1: 1 of 2 right.
        let confusion = Confusion(predictions: [0, 0, 1, 1, 0], labels: [0, 0, 0, 1, 1], classes: 3)
        #expect(confusion.counts == [[2, 1, 0], [1, 1, 0], [0, 0, 0]])
        #expect(confusion.total == 5 && confusion.correct == 3 && confusion.support(0) == 3 && confusion.support(2) == 0)
        #expect(confusion.accuracy == 0.6)
        #expect(confusion.perClassAccuracy == [2.0 / 3.0, 0.5, 0])
        #expect(Confusion(predictions: [], labels: [], classes: 2).accuracy == 0)
    }
}
