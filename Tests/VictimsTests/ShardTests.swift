import Formats
import Foundation
import Specs
import Testing
import TestSupport
import Victims

@Suite("Shards of indexed tasks")
struct ShardTests {
    @Test("--shard I/N parses, owns every Nth item, and bad specs say what to give")
    func parsing() throws {
        let shard = try Shard(parsing: "1/3")
        #expect(shard.index == 1 && shard.count == 3)
        #expect(shard.share(of: Array(0..<8)) == [1, 4, 7])
        let all = (0..<3).flatMap { try! Shard(parsing: "\($0)/3").share(of: Array(0..<8)) }.sorted()
        #expect(all == Array(0..<8), "the shards cover every item once")
        for (text, says) in [("3/3", "outside 0…2"), ("-1/2", "outside 0…1"), ("0/0", "at least 1"), ("1", "takes I/N"),
                             ("a/b", "takes I/N"), ("1/2/3", "takes I/N"), ("", "takes I/N")] {
            #expect(errorText { _ = try Shard(parsing: text) }.contains(says), "\(text)")
        }
    }

    @Test("without --shard the index comes from Slurm, Kubernetes or AWS Batch; missing counts are refused")
    func environment() throws {
        func resolve(_ option: String?, _ shards: Int?, _ env: [String: String]) throws -> Shard {
            try Shard.resolve(option: option, shards: shards, environment: env)
        }
        #expect(try resolve(nil, nil, [:]) == .whole)
        #expect(try resolve("2/4", nil, ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"]) == Shard(index: 2, count: 4, source: ""))
        #expect(try resolve(nil, nil, ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"]) == Shard(index: 3, count: 4, source: ""))
        #expect(try resolve(nil, nil, ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "8"]) == Shard(index: 4, count: 8, source: ""))
        // A task resubmitted alone is an array of one: --shards keeps its place.
        #expect(try resolve(nil, 4, ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "3"]) == Shard(index: 3, count: 4, source: ""))
        #expect(try resolve(nil, 10, ["JOB_COMPLETION_INDEX": "9"]) == Shard(index: 9, count: 10, source: ""))
        #expect(try resolve(nil, 2, ["AWS_BATCH_JOB_ARRAY_INDEX": "1"]) == Shard(index: 1, count: 2, source: ""))
        let refused: [(String?, Int?, [String: String], String)] = [
            (nil, nil, ["JOB_COMPLETION_INDEX": "1"], "pass --shards N"),
            (nil, nil, ["AWS_BATCH_JOB_ARRAY_INDEX": "1"], "pass --shards N"),
            (nil, 2, ["JOB_COMPLETION_INDEX": "2"], "outside 0…1"),
            (nil, nil, ["SLURM_ARRAY_TASK_ID": "1"], "pass --shards N"),
            (nil, nil, ["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"], "not a whole number"),
            (nil, 3, [:], "needs this task's index"),
            ("0/2", 2, [:], "not both"),
        ]
        for (option, shards, env, says) in refused {
            #expect(errorText { _ = try resolve(option, shards, env) }.contains(says), "\(env)")
        }
    }

    @Test("a zoo trained in two shards sharing its folder has every victim's SHA-256 and the manifest of one trained in one go")
    func shardedZoo() throws {
        var spec = ZooTests.tinySpec("sharded")
        spec.snapshotEpochs = [1]
        let whole = try Zoo.train(spec: spec, root: temporaryDirectory(), workers: 2)
        let root = try temporaryDirectory()
        let first = try Zoo.train(spec: spec, root: root, workers: 1, shard: Shard(parsing: "1/2"))
        #expect(first.manifest.victims.map(\.id) == ["crafting-001", "crafting-001-e1"], "shard 1/2 trains the second victim only")
        let second = EventLog()
        let both = try Zoo.train(spec: spec, root: root, workers: 2, shard: Shard(parsing: "0/2")) { second.append($0) }
        #expect(Set(second.started) == ["crafting-000", "heldout-000"])
        #expect(both.manifest.victims.map(\.sha256) == whole.manifest.victims.map(\.sha256))
        let manifest = { (zoo: Zoo) in try Data(contentsOf: zoo.directory.appendingPathComponent("manifest.json")) }
        #expect(try manifest(both) == manifest(whole), "the manifest rebuilt from the shards' records is the same bytes")

        // A task killed between its weights and the manifest left only its record: the next
        // run (here, a rerun of the whole zoo, as a merge job does) trains nothing and restores it.
        var shortened = both.manifest
        shortened.victims.removeAll { $0.id == "heldout-000" }
        try JSONEncoder().encode(shortened).write(to: both.directory.appendingPathComponent("manifest.json"))
        let rerun = EventLog()
        let merged = try Zoo.train(spec: spec, root: root, workers: 2) { rerun.append($0) }
        #expect(rerun.started.isEmpty && merged.manifest.victims.map(\.sha256) == whole.manifest.victims.map(\.sha256))
    }
}

@Suite("Lease locks on a shared folder")
struct LeaseLockTests {
    @Test("one holder at a time; a live holder is named when waiting times out; the file goes on release")
    func exclusive() throws {
        let path = try temporaryDirectory().appendingPathComponent("x.lease").path
        do {
            let held = try LeaseLock(path, purpose: "testing")
            let text = errorText { _ = try LeaseLock(path, purpose: "testing", timeout: 0.2) }
            #expect(text.contains("process \(getpid()) on ") && text.contains("testing"), "\(text)")
            withExtendedLifetime(held) {}
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        _ = try LeaseLock(path, purpose: "testing", timeout: 0)
    }

    @Test("a lock whose lease ended, or whose holder on this host is gone, is broken; one being written is waited for")
    func stale() throws {
        let folder = try temporaryDirectory()
        let expired = folder.appendingPathComponent("expired.lease").path
        try "elsewhere 1 \(Date().timeIntervalSince1970 - 1) x\n".write(toFile: expired, atomically: true, encoding: .utf8)
        _ = try LeaseLock(expired, purpose: "testing", timeout: 0)
        let dead = folder.appendingPathComponent("dead.lease").path
        // A process id above the kernel's limit never runs.
        let host = LeaseLock.hostName
        try "\(host) 99999999 \(Date().timeIntervalSince1970 + 600) x\n".write(toFile: dead, atomically: true, encoding: .utf8)
        _ = try LeaseLock(dead, purpose: "testing", timeout: 0)
        let elsewhere = folder.appendingPathComponent("elsewhere.lease").path
        try "another-host 99999999 \(Date().timeIntervalSince1970 + 600) x\n".write(toFile: elsewhere, atomically: true, encoding: .utf8)
        #expect(errorText { _ = try LeaseLock(elsewhere, purpose: "testing", timeout: 0.1) }.contains("process 99999999 on another-host"))
        let empty = folder.appendingPathComponent("empty.lease").path
        try Data().write(to: URL(fileURLWithPath: empty))
        #expect(errorText { _ = try LeaseLock(empty, purpose: "testing", lease: 60, timeout: 0.1) } != "accepted")
        _ = try LeaseLock(empty, purpose: "testing", lease: 0, timeout: 1)
    }
}
