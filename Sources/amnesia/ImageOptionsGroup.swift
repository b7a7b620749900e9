import ArgumentParser
import Datasets

/// How an image folder's files become inputs (`--dataset image-folder`): recorded in the zoo
/// spec, so every later run on the zoo reads the images the same way.
struct ImageOptionsGroup: ParsableArguments {
    @Option(help: "Image folder: resize every image to WxH, or its shorter side to N (PIL's antialiased bilinear, as torchvision's Resize).")
    var resize: String?
    @Option(help: "Image folder: keep the WxH center (torchvision's CenterCrop; black padding when the image is smaller).")
    var centerCrop: String?
    @Option(help: "Image folder: gray or rgb (default: rgb when any image has colour).")
    var channels: String?
    @Option(help: "Image folder: per-channel means, comma-separated (with --std; default: fitted on the training split).")
    var mean: String?
    @Option(help: "Image folder: per-channel standard deviations, comma-separated (with --mean).")
    var std: String?
    @Option(help: "Image folder without train/ and test/: the fraction of each class held out as the test split.")
    var split: Double?
    @Option(help: "With --split: the seed of the shuffle that picks the test images.")
    var splitSeed: UInt64?
    @Flag(help: "Image folder: leave out images that do not decode (a counted warning) instead of stopping.")
    var skipBad = false

    /// Refuses a bad value before the command does anything.
    func validate() throws { _ = try options() }

    /// The options, nil when none is given; a bad value is a usage error naming the flag.
    func options() throws -> ImageOptions? {
        var options = ImageOptions()
        (options.resize, options.centerCrop, options.channels) = (resize, centerCrop, channels)
        (options.split, options.splitSeed, options.skipBad) = (split, splitSeed, skipBad ? true : nil)
        func numbers(_ text: String?, _ flag: String) throws -> [Float]? {
            guard let text else { return nil }
            let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                throw ValidationError("\(flag) takes numbers separated by commas, one per channel (e.g. 0.49,0.48,0.45); got '\(text)'")
            }
            return values.compactMap { $0 }
        }
        (options.mean, options.std) = (try numbers(mean, "--mean"), try numbers(std, "--std"))
        if let problem = options.problem() {
            throw ValidationError(problem.replacingOccurrences(of: "center_crop", with: "--center-crop")
                .replacingOccurrences(of: "split_seed", with: "--split-seed"))
        }
        return options.isEmpty ? nil : options
    }
}
