import Synchronization

#if os(Linux)
import CMalloc

/// Keeps freed tensor buffers (up to glibc's 32 MiB limit) in the heap for reuse rather
/// than unmapping them: otherwise every large activation costs fresh zeroed pages,
/// which profiling showed as a visible share of a training step.
private let heapTuned: Bool = {
    mallopt(M_MMAP_THRESHOLD, 32 << 20)
    mallopt(M_TRIM_THRESHOLD, 256 << 20)
    return true
}()
#else
private let heapTuned = true
#endif

/// Freed buffers of at least `threshold` bytes, kept for the next allocation of the same
/// size. glibc serves those (above its 32 MiB mmap threshold, which `mallopt` cannot
/// raise) with fresh mappings, so each one cost zeroed pages again: a quarter of a
/// ConvNet-3 training step on 100 images, a third of its test pass, went to page faults.
/// Holds at most `capacity` bytes, dropping the oldest first.
private final class LargeBuffers: Sendable {
    static let shared = LargeBuffers()
    static let threshold = 32 << 20
    static let capacity = 1 << 30
    private let free = Mutex<(buffers: [(bytes: Int, address: UInt)], total: Int)>(([], 0))

    /// A kept buffer of exactly `bytes`, the most recently freed one, or nil.
    func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let address = free.withLock { state -> UInt? in
            guard let index = state.buffers.lastIndex(where: { $0.bytes == bytes }) else { return nil }
            state.total -= bytes
            return state.buffers.remove(at: index).address
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Keeps `buffer` of `bytes` for reuse, releasing the oldest kept ones beyond `capacity`.
    func keep(_ buffer: UnsafeMutableRawPointer, _ bytes: Int) {
        let released = free.withLock { state -> [UInt] in
            state.buffers.append((bytes, UInt(bitPattern: buffer)))
            state.total += bytes
            var released: [UInt] = []
            while state.total > Self.capacity, let oldest = state.buffers.first {
                state.buffers.removeFirst()
                state.total -= oldest.bytes
                released.append(oldest.address)
            }
            return released
        }
        for address in released { UnsafeMutableRawPointer(bitPattern: address)!.deallocate() }
    }
}

/// Heap storage for tensor elements. Written once while an op builds its result and
/// read-only afterwards, which is what makes sharing it between tensors and threads safe.
public final class TensorStorage: @unchecked Sendable {
    /// The elements; mutated only by the op that allocated this storage.
    public let buffer: UnsafeMutableBufferPointer<Float>

    /// Uninitialized storage for `count` elements, 64-byte aligned for SIMD and BLAS.
    init(uninitializedCount count: Int) {
        _ = heapTuned
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = (bytes >= LargeBuffers.threshold ? LargeBuffers.shared.take(bytes) : nil)
            ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        buffer = UnsafeMutableBufferPointer(
            start: raw.bindMemory(to: Float.self, capacity: max(count, 1)), count: count)
    }

    /// Storage holding `count` copies of `value`.
    convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        buffer.initialize(repeating: value)
    }

    deinit {
        let (raw, bytes) = (UnsafeMutableRawPointer(buffer.baseAddress!), max(buffer.count, 1) * MemoryLayout<Float>.stride)
        if bytes >= LargeBuffers.threshold { LargeBuffers.shared.keep(raw, bytes) } else { raw.deallocate() }
    }
}

/// An immutable, row-major, contiguous array of `Float` with an optional place in the
/// autodiff graph. Copies share storage; every op returns a new tensor.
public struct Tensor: @unchecked Sendable {
    /// The element buffer, shared by copies.
    public let storage: TensorStorage
    /// The extent of each dimension; `[]` is a scalar.
    public let shape: [Int]
    /// The graph node that produced this tensor, or `nil` for a constant.
    public let node: Node?

    init(storage: TensorStorage, shape: [Int], node: Node? = nil) {
        precondition(shape.reduce(1, *) == storage.buffer.count, "shape \(shape) does not fit \(storage.buffer.count) elements")
        self.storage = storage
        self.shape = shape
        self.node = node
    }

    /// A constant tensor from its elements in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        let storage = TensorStorage(uninitializedCount: scalars.count)
        _ = storage.buffer.initialize(from: scalars)
        self.init(storage: storage, shape: shape)
    }

    /// A constant tensor of the given shape filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(storage: TensorStorage(repeating: value, count: shape.reduce(1, *)), shape: shape)
    }

    /// A constant scalar (rank-0) tensor.
    public init(_ value: Float) { self.init(repeating: value, shape: []) }

    /// A constant tensor whose elements are written by `fill` into uninitialized memory.
    /// `fill` must write every element.
    public init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let storage = TensorStorage(uninitializedCount: shape.reduce(1, *))
        fill(storage.buffer)
        self.init(storage: storage, shape: shape)
    }

    /// An empty constant, standing in for outputs an op's VJP does not read.
    static let placeholder = Tensor(storage: TensorStorage(uninitializedCount: 0), shape: [0])

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// The number of elements.
    public var count: Int { storage.buffer.count }
    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The elements in row-major order (a copy).
    public var scalars: [Float] { Array(storage.buffer) }
    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return storage.buffer[0]
    }
    /// Read-only access to the elements.
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(storage.buffer) }

    /// Whether gradients can flow back through this tensor.
    public var requiresGradient: Bool { node != nil }

    /// The same values as a leaf of the graph, so gradients can be taken with respect to it.
    public func requiringGradient() -> Tensor {
        Tensor(storage: storage, shape: shape, node: Node(leafWithShape: shape))
    }

    /// The same values cut from the graph: a constant.
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}
