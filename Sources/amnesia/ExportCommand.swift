import ArgumentParser
import Distillation
import Foundation
import Poisoning

/// `amnesia export`: a poison set as PNG files and CSV labels, for PyTorch and the rest.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a poison set as PNG images, labels.csv and poison.json for another framework.",
        discussion: """
            The images are written in pixel space (denormalized with the poison's mean and std, \
            clipped to [0, 1], 8-bit): what a victim that reads files sees, the report's 8-bit probe. \
            labels.csv has file, step and label, plus p0, p1, … (the soft labels) when the poison \
            learned them; poison.json has the normalization, K, T, class names, steps, epochs and \
            step sizes. The README shows the few lines of PyTorch that apply the step.
            Example: amnesia export --poison reports/<run>/poison.safetensors --out poison-pngs
            """)
    @Option(help: "The poison set (safetensors).") var poison: String
    @Option(help: "A new (or empty) folder to write into.") var out: String

    func validate() throws { try checkFolderOption(out, option: "--out", writable: true) }

    func run() throws {
        let set = try PoisonSet(contentsOf: URL(fileURLWithPath: poison))
        try set.exportFolder(to: URL(fileURLWithPath: out))
        print("wrote \(set.labels.count) images, labels.csv and poison.json to \(out)")
    }
}
