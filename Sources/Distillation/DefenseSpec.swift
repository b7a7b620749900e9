import Foundation
import Specs

/// A defense a victim could deploy around the update it takes, as a spec's `defenses:`
/// list or `--defense` names it. The evaluator scores the poison (and its controls) under
/// each; an adaptive attack will craft through them.
///
/// YAML: `- gate: {max_drop: 0.02}`; command line: `--defense gate:max_drop=0.02`.
public enum DefenseSpec: Sendable, Equatable {
    /// Validation gate (RONI-style): the victim keeps its old weights when the update
    /// lowers its accuracy on clean validation images by more than `maxDrop`, overall or
    /// on any class.
    case gate(maxDrop: Float)
    /// Loss filtering: the victim drops the `fraction` of poison images it finds most
    /// suspicious (highest loss under their labels) before stepping.
    case filter(fraction: Float)
    /// DP-SGD: every image's gradient clipped to norm `clip`, Gaussian noise of standard
    /// deviation `noise` × `clip` added to their sum.
    case dpSGD(clip: Float, noise: Float)
    /// The victim caps its step size at `max`.
    case stepCap(max: Float)
    /// Trust region: the update's norm over all parameters is at most `max`.
    case normCap(max: Float)
    /// The poison arrives mixed into `clean` clean training images; the step is on the mix.
    case dilution(clean: Int)
    /// Spectral signatures on the mix of the poison and `clean` clean images: per label,
    /// the `fraction` with the largest projection on the top singular vector of the
    /// penultimate features is dropped before the step.
    case spectral(clean: Int, fraction: Float)
    /// Activation clustering on the mix: per label, 2-means on the principal components
    /// of the penultimate features; the smaller cluster is dropped when it holds at most
    /// `maxShare` of the label.
    case clustering(clean: Int, maxShare: Float)

    /// The names and their parameters, for messages and `--help`.
    public static let forms = "gate:max_drop=D, filter:fraction=F, dp_sgd:clip=C,noise=S, step_cap:max=E, norm_cap:max=R, dilution:clean=B, spectral:clean=B,fraction=F, clustering:clean=B,max_share=S"

    /// The defense `name` with `parameters`, every one checked and none unknown.
    public init(name: String, parameters: [String: Double]) throws(SpecError) {
        func fail(_ message: String) -> SpecError { SpecError(file: "defense '\(name)'", message) }
        func cleanCount(_ b: Double) throws(SpecError) -> Int {
            guard b == b.rounded(), b <= 60_000 else { throw fail("clean must be a whole number of images up to 60000 (got \(b))") }
            return Int(b)
        }
        func take(_ keys: [String]) throws(SpecError) -> [Double] {
            if let unknown = parameters.keys.sorted().first(where: { !keys.contains($0) }) {
                throw fail("unknown parameter '\(unknown)'; it takes \(keys.joined(separator: ", "))")
            }
            var values: [Double] = []
            for key in keys {
                guard let value = parameters[key] else { throw fail("needs \(key) (forms: \(Self.forms))") }
                guard value.isFinite, value >= 0 else { throw fail("\(key) must be a finite number ≥ 0 (got \(value))") }
                values.append(value)
            }
            return values
        }
        switch name {
        case "gate": self = .gate(maxDrop: Float(try take(["max_drop"])[0]))
        case "filter":
            let f = try take(["fraction"])[0]
            guard f < 1 else { throw fail("fraction must be below 1 (got \(f)): the victim keeps some images") }
            self = .filter(fraction: Float(f))
        case "dp_sgd":
            let v = try take(["clip", "noise"])
            guard v[0] > 0 else { throw fail("clip must be positive (got \(v[0]))") }
            self = .dpSGD(clip: Float(v[0]), noise: Float(v[1]))
        case "step_cap":
            let m = try take(["max"])[0]
            guard m > 0 else { throw fail("max must be positive (got \(m))") }
            self = .stepCap(max: Float(m))
        case "norm_cap":
            let m = try take(["max"])[0]
            guard m > 0 else { throw fail("max must be positive (got \(m))") }
            self = .normCap(max: Float(m))
        case "dilution": self = .dilution(clean: try cleanCount(take(["clean"])[0]))
        case "spectral":
            let v = try take(["clean", "fraction"])
            guard v[1] < 1 else { throw fail("fraction must be below 1 (got \(v[1])): the victim keeps some images") }
            self = .spectral(clean: try cleanCount(v[0]), fraction: Float(v[1]))
        case "clustering":
            let v = try take(["clean", "max_share"])
            guard v[1] <= 0.5 else { throw fail("max_share must be at most 0.5 (got \(v[1])): it bounds the smaller of two clusters") }
            self = .clustering(clean: try cleanCount(v[0]), maxShare: Float(v[1]))
        default: throw SpecError(file: "defense", "unknown defense '\(name)'; defenses are \(Self.forms)")
        }
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

    /// The name and parameters, as written in specs and reports.
    public var name: String {
        switch self {
        case .gate: "gate"
        case .filter: "filter"
        case .dpSGD: "dp_sgd"
        case .stepCap: "step_cap"
        case .normCap: "norm_cap"
        case .dilution: "dilution"
        case .spectral: "spectral"
        case .clustering: "clustering"
        }
    }

    public var parameters: [String: Float] {
        switch self {
        case let .gate(d): ["max_drop": d]
        case let .filter(f): ["fraction": f]
        case let .dpSGD(c, s): ["clip": c, "noise": s]
        case let .stepCap(m), let .normCap(m): ["max": m]
        case let .dilution(b): ["clean": Float(b)]
        case let .spectral(b, f): ["clean": Float(b), "fraction": f]
        case let .clustering(b, s): ["clean": Float(b), "max_share": s]
        }
    }

    /// `name:key=value,…`: a stable key for results and reports.
    public var key: String {
        name + ":" + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.shortText)" }.joined(separator: ",")
    }
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
