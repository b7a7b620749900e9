import Dispatch
import Synchronization

/// `transform` of each element on up to `workers` threads, results in input order.
/// BLAS calls run single-threaded (see `BLASThreads`), so the two levels do not fight.
public func parallelMap<T: Sendable, R: Sendable>(_ items: [T], workers: Int, _ transform: @Sendable (T) -> R) -> [R] {
    let count = max(1, min(workers, items.count))
    if count == 1 { return items.map(transform) }
    let results = Mutex<[R?]>(Array(repeating: nil, count: items.count))
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: count) { _ in
        while true {
            let index = next.add(1, ordering: .relaxed).oldValue
            guard index < items.count else { return }
            let value = transform(items[index])
            results.withLock { $0[index] = value }
        }
    }
    return results.withLock { $0.compactMap { $0 } }
}
