import Foundation
import Specs

/// A spec shipped inside the binary (attacks/, victims/ and distill/ of the repository), so
/// the default attack and its zoos work from any folder, and a user can print one to copy.
public struct BuiltinSpec: Sendable, Equatable {
    /// Its path in the repository, e.g. `attacks/fashion-tshirt-to-trouser.yaml`: the name
    /// other specs refer to it by (`zoo_spec: victims/fashion-lenet.yaml`).
    public let path: String
    /// The file's exact text.
    public let text: String

    /// Every built-in spec, sorted by path.
    public static let all: [BuiltinSpec] = builtinSpecFiles.map { BuiltinSpec(path: $0.path, text: $0.text) }

    /// The file name without `.yaml`, e.g. `fashion-tshirt-to-trouser`.
    public var shortName: String { String((path.split(separator: "/").last ?? "").dropLast(".yaml".count)) }

    /// What the spec is for: the first sentence of its leading comment, cut to `length`
    /// characters.
    public func summary(length: Int = 100) -> String {
        let comment = text.split(separator: "\n").prefix { $0.hasPrefix("#") }
            .map { $0.drop { $0 == "#" || $0 == " " } }.joined(separator: " ")
        let sentence = comment.range(of: ". ").map { String(comment[..<$0.lowerBound]) + "." } ?? comment
        return sentence.count <= length ? sentence : sentence.prefix(length - 1) + "…"
    }

    /// The built-in spec `name` names: its path (`victims/fashion-lenet.yaml`), the path
    /// without `.yaml`, or its short name with or without `.yaml` (`fashion-lenet`).
    public static func named(_ name: String) -> BuiltinSpec? {
        let bare = name.hasSuffix(".yaml") ? String(name.dropLast(".yaml".count)) : name
        return all.first { $0.path == name || $0.path == bare + ".yaml" }
            ?? all.first { $0.shortName == bare }
    }
}

/// A spec's text and the name errors give it: the file `reference` names (relative to the
/// current folder), or, when no such file exists, the built-in spec of that name.
public struct SpecSource: Sendable {
    public let text: String
    /// The file's path, or the built-in's path marked `(built in)`.
    public let file: String
    public let isBuiltin: Bool

    public init(_ reference: String) throws {
        let url = URL(fileURLWithPath: reference)
        if !FileManager.default.fileExists(atPath: url.path), let builtin = BuiltinSpec.named(reference) {
            (text, file, isBuiltin) = (builtin.text, "\(builtin.path) (built in)", true)
            return
        }
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw SpecError(file: url.path, "cannot read the spec (\(error.localizedDescription)), and it is not a built-in spec either (`amnesia specs list` names them); check the path")
        }
        (file, isBuiltin) = (url.path, false)
    }
}
