import Datasets
import Foundation
import Specs

/// A defense a victim could deploy around the update it takes, as a spec's `defenses:` list
/// or `--defense` names it. The evaluator scores the poison (and its controls) under each; an
/// adaptive attack crafts through them.
///
/// YAML: `- gate: {max_drop: 0.02}`; command line: `--defense gate:max_drop=0.02`.
public struct DefenseSpec: Sendable, Equatable {
    public let defense: any Defense

    public init(_ defense: any Defense) { self.defense = defense }

    /// The names and their parameters, for messages and `--help`.
    public static var forms: String { Defenses.all.map { $0.form }.joined(separator: ", ") }

    /// The defense `name` with `parameters`, every one checked and none unknown.
    public init(name: String, parameters: [String: Double]) throws(SpecError) {
        guard let type = Defenses.all.first(where: { $0.name == name }) else {
            throw SpecError(file: "defense", "unknown defense '\(name)'; defenses are \(Self.forms)")
        }
        defense = try type.init(parameters: DefenseParameters(name: name, values: parameters))
    }

    /// `NAME:key=value,key=value` as `--defense` takes it.
    public init(commandLine text: String) throws(SpecError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        var parameters: [String: Double] = [:]
        for item in (parts.count > 1 ? parts[1] : "").split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let value = Double(pair[1]) else {
                throw SpecError(file: "--defense \(text)", "parameters are key=number pairs separated by commas (forms: \(Self.forms))")
            }
            guard parameters.updateValue(value, forKey: pair[0]) == nil else {
                throw SpecError(file: "--defense \(text)", "parameter '\(pair[0])' is given twice; give each parameter once")
            }
        }
        try self.init(name: parts.first ?? "", parameters: parameters)
    }

    /// The name, as written in specs and reports.
    public var name: String { type(of: defense).name }

    public var parameters: [String: Float] { defense.parameters }

    /// `name:key=value,…`: a stable key for results and reports.
    public var key: String {
        name + ":" + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.shortText)" }.joined(separator: ",")
    }

    /// The victim update this defense stands for. `validation` is the gate's clean images,
    /// `train` where dilution draws its clean images, `seed` every random draw.
    public func update(validation: LabeledImages, train: LabeledImages, seed: UInt64) -> any VictimUpdate {
        defense.update(in: DefenseEnvironment(validation: validation, train: train, seed: seed))
    }

    public static func == (a: DefenseSpec, b: DefenseSpec) -> Bool { a.key == b.key }
}

extension Float {
    /// `0.02`, `1000`: the shortest form, without a trailing `.0` (keys of defenses and
    /// probes, so that `step_x2` and `dilution:clean=1000` read as written).
    public var shortText: String { rounded() == self && abs(self) < 1e9 ? String(Int(self)) : String(self) }
}

extension DefenseSpec: Codable {
    public init(from decoder: any Decoder) throws {
        let entry = try decoder.singleValueContainer().decode([String: [String: Double]].self)
        guard entry.count == 1, let (name, parameters) = entry.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "each defense is one name with its parameters, e.g. '- gate: {max_drop: 0.02}'; defenses are \(Self.forms)"))
        }
        do { try self.init(name: name, parameters: parameters) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode([name: parameters])
    }
}
