/// Describes what a dataset's labels mean, so reports and image grids can name classes.
public struct DatasetInfo: Sendable, Equatable, Codable {
    /// Short identifier, e.g. `"fashion-mnist"`.
    public var name: String
    /// Human-readable class names, indexed by label.
    public var classNames: [String]
    /// Number of classes; labels are in `0..<numClasses`.
    public var numClasses: Int { classNames.count }

    /// Creates metadata for a dataset with the given class names (label `i` is `classNames[i]`).
    public init(name: String, classNames: [String]) {
        self.name = name
        self.classNames = classNames
    }
}
