import Foundation
import Yams

/// An error in a spec file, naming the file, the key path and what to do.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// A spec section that refuses keys it does not know, so a typo such as `epoch:` for
/// `epochs:` is an error rather than a silently ignored setting.
public protocol StrictlyDecodable: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the spec leaves it out.
    public func value<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

/// A coding key for reading whatever keys a mapping has.
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Throws a `DecodingError` naming the first key of this mapping that `T` does not
    /// declare, with the keys it does.
    public func rejectUnknownKeys<T: StrictlyDecodable>(for type: T.Type) throws {
        let known = Set(T.CodingKeys.allCases.map(\.stringValue))
        let container = try container(keyedBy: AnyKey.self)
        for key in container.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [key],
                debugDescription: "unknown key '\(key.stringValue)'; allowed keys: \(T.CodingKeys.allCases.map(\.stringValue).sorted().joined(separator: ", "))"))
        }
    }
}

/// Reads YAML spec files into spec types with messages a person can act on.
public enum SpecFile {
    /// Decodes `T` from the YAML file at `url`.
    public static func load<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw SpecError(file: url.path, "cannot read the spec (\(error.localizedDescription)); check the path")
        }
        return try decode(type, yaml: text, file: url.path)
    }

    /// Decodes `T` from YAML text; `file` names the source in errors.
    public static func decode<T: Decodable>(_ type: T.Type, yaml: String, file: String) throws -> T {
        try SpecDocument(yaml: yaml, file: file).decode(type)
    }

    static func context(of error: DecodingError) -> DecodingError.Context {
        switch error {
        case let .keyNotFound(_, context), let .typeMismatch(_, context), let .valueNotFound(_, context),
             let .dataCorrupted(context): context
        @unknown default: .init(codingPath: [], debugDescription: "")
        }
    }

    /// Where `path` points in the document `root` as "line L, column C": the deepest node of
    /// the path that exists (a missing key points at its mapping).
    static func location(of path: [any CodingKey], in root: Node) -> String? {
        var node = root
        for key in path {
            let child = key.intValue.flatMap { i in node.sequence.flatMap { i < $0.count ? $0[i] : nil } } ?? node[key.stringValue]
            guard let child else { break }
            node = child
        }
        return node.mark.map { "line \($0.line), column \($0.column)" }
    }

    /// A decoding error as the key path and what is wrong with it (also used for JSON
    /// files such as zoo manifests).
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the top level" : "'" + keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[") + "'"
        }
        switch error {
        case let .keyNotFound(key, context):
            return "missing key '\(key.stringValue)' at \(path(context.codingPath))"
        case let .typeMismatch(type, context):
            return "\(path(context.codingPath)) should be \(describe(type)): \(context.debugDescription)"
        case let .valueNotFound(type, context):
            return "\(path(context.codingPath)) needs a value (\(describe(type)))"
        case let .dataCorrupted(context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: "a whole number"
        case is Float.Type, is Double.Type: "a number"
        case is String.Type: "text"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }
}

/// A spec value chosen from a fixed list (an architecture, an optimizer, an objective):
/// decoding a value outside the list names the ones allowed.
public protocol SpecChoice: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension SpecChoice {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "'\(text)' is not one of: \(Self.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        self = value
    }
}

/// A spec's YAML, parsed once: every type decoded from it (the fuzz target reads each input
/// as both kinds of spec) and every error's line and column come from the one parse.
public struct SpecDocument {
    /// Keeps the document's anchors alive while types are decoded from its nodes.
    private let parser: Parser
    private let root: Node
    public let file: String

    /// Parses `yaml`; `file` names the source in errors.
    public init(yaml: String, file: String) throws(SpecError) {
        do {
            // Scalars stay untyped (as `YAMLDecoder` reads them): each key's type decides.
            parser = try Parser(yaml: yaml, resolver: Resolver.basic.appending(.merge))
            root = try parser.singleRoot() ?? ""
        } catch {
            throw SpecError(file: file, "not valid YAML: \(error)")
        }
        self.file = file
    }

    /// Decodes `T` from the document, with an error naming the key, its line and column.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try YAMLDecoder().decode(type, from: root)
        } catch let error as DecodingError {
            if let syntax = SpecFile.context(of: error).underlyingError as? YamlError { throw SpecError(file: file, "not valid YAML: \(syntax)") }
            let at = SpecFile.location(of: SpecFile.context(of: error).codingPath, in: root).map { " (\($0))" } ?? ""
            throw SpecError(file: file, SpecFile.describe(error) + at)
        } catch let error as YamlError {
            throw SpecError(file: file, "not valid YAML: \(error)")
        }
    }
}
