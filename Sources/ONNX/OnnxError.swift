/// Why an ONNX file cannot run on Amnesia's core, saying what to do.
public struct OnnxError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
