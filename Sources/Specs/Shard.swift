/// One task's share of work that an engine of indexed tasks (a Slurm array, a Kubernetes
/// Indexed Job, an AWS Batch array) splits into `count` shards: item `i` of a fixed list
/// belongs to shard `i mod count`. The items never learn which shard ran them, so every
/// result is the same whatever `count` is.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    /// 0-based, below `count`.
    public let index: Int
    public let count: Int

    /// All the work in one task.
    public static let whole = Shard(checkedIndex: 0, count: 1)

    private init(checkedIndex: Int, count: Int) { (index, self.count) = (checkedIndex, count) }

    /// A shard, refused unless `0 ≤ index < count` (`source` names where they came from).
    public init(index: Int, count: Int, source: String) throws(ShardError) {
        guard count >= 1 else { throw ShardError("\(source): the number of shards must be at least 1, got \(count)") }
        guard (0..<count).contains(index) else {
            throw ShardError("\(source): shard index \(index) is outside 0…\(count - 1) (indices count from 0, so N shards are 0/N … \(count - 1)/N)")
        }
        (self.index, self.count) = (index, count)
    }

    /// Parses `I/N` as given to `--shard`.
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ShardError("--shard takes I/N (this task's 0-based index, then the number of shards), e.g. --shard 0/4; got '\(text)'")
        }
        try self.init(index: index, count: count, source: "--shard \(text)")
    }

    /// Whether item `position` of the list is this shard's.
    public func owns(_ position: Int) -> Bool { position % count == index }

    /// The items of `list` this shard runs, in list order.
    public func share<T>(of list: [T]) -> [T] { list.indices.filter(owns).map { list[$0] } }

    public var description: String { "\(index)/\(count)" }

    /// The shard from the command line or, without `--shard`, from the environment of the
    /// engine that started the task:
    /// - `SLURM_ARRAY_TASK_ID` with `--shards N`, or else with `SLURM_ARRAY_TASK_COUNT`
    ///   (index relative to `SLURM_ARRAY_TASK_MIN`, or the count from MIN and MAX);
    /// - `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) with `--shards N`;
    /// - `AWS_BATCH_JOB_ARRAY_INDEX` with `--shards N`.
    ///
    /// The whole work when none is set. `--shards` is the safer form on Slurm: a task
    /// resubmitted alone (`--array=3`) is an array of one, whose own count says nothing.
    public static func resolve(option: String?, shards: Int?, environment: [String: String]) throws(ShardError) -> Shard {
        if let option {
            if shards != nil { throw ShardError("give either --shard I/N or --shards N (with the index from the environment), not both") }
            return try Shard(parsing: option)
        }
        func number(_ name: String) throws(ShardError) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw ShardError("\(name)=\(text) is not a whole number") }
            return value
        }
        if let id = try number("SLURM_ARRAY_TASK_ID") {
            if let shards { return try Shard(index: id, count: shards, source: "SLURM_ARRAY_TASK_ID=\(id) with --shards \(shards)") }
            let low = try number("SLURM_ARRAY_TASK_MIN") ?? 0
            let source = "SLURM_ARRAY_TASK_ID=\(id) (array \(low)…)"
            if let count = try number("SLURM_ARRAY_TASK_COUNT") { return try Shard(index: id - low, count: count, source: source) }
            if let high = try number("SLURM_ARRAY_TASK_MAX") { return try Shard(index: id - low, count: high - low + 1, source: source) }
            throw ShardError("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is; pass --shards N")
        }
        for name in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
            guard let id = try number(name) else { continue }
            guard let shards else {
                throw ShardError("\(name)=\(id) is set: pass --shards N, the number of tasks (the Job's completions, the array's size)")
            }
            return try Shard(index: id, count: shards, source: "\(name)=\(id) with --shards \(shards)")
        }
        if let shards {
            throw ShardError("--shards \(shards) needs this task's index: --shard I/\(shards), or SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX in the environment")
        }
        return .whole
    }
}

/// A shard that cannot be, with what to give instead.
public struct ShardError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
