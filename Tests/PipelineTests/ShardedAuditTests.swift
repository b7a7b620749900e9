import Foundation
import Pipeline
import Reports
import Results
import Specs
import Testing
import TestSupport
import Victims

@Suite("The audit split into shards", .serialized)
struct ShardedAuditTests {
    @Test("two shards sharing the folder, then a merge, give the matrix and pair files of one unsharded audit, byte for byte")
    func shardsMergeToTheSameMatrix() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        let pairs = [(forget: 0, target: 1), (forget: 2, target: 3), (forget: 1, target: 0)]
        let template = TinyWorld.attack(iterations: 20)
        let whole = try Audit(zoo: zoo, template: template, pairs: pairs, reportsRoot: root.appendingPathComponent("one"))
        let reference = try #require(try whole.run())

        var sharded = try Audit(zoo: zoo, template: template, pairs: pairs, reportsRoot: root.appendingPathComponent("two"))
        sharded.command = ["amnesia", "audit", "--zoo", "tiny"]
        #expect(sharded.directory.lastPathComponent == whole.directory.lastPathComponent, "the folder does not depend on the shard")
        _ = try sharded.run(shard: Shard(parsing: "1/2"), workers: 1)
        // Before the other task ran: the report holds what is complete and names the rest.
        let partial = try Audit.merge(sharded.directory)
        #expect(partial.report.pairs.map { [$0.forget, $0.target] } == [[2, 3]])
        #expect(partial.missing.map { [$0.forget, $0.target] } == [[0, 1], [1, 0]])
        #expect(partial.fillCommand == "amnesia audit --zoo tiny --pairs 0:1,1:0")
        _ = try sharded.run(shard: Shard(parsing: "0/2"), workers: 1)
        let merged = try Audit.merge(sharded.directory)
        #expect(merged.missing.isEmpty && merged.fillCommand == nil)
        #expect(CSVReport.matrix(merged.report) == CSVReport.matrix(reference))
        #expect(merged.report.pairs == reference.pairs && merged.report.config == reference.config)
        for (k, t) in pairs {
            let name = "pairs/\(k)-\(t).json"
            #expect(try Data(contentsOf: sharded.directory.appendingPathComponent(name)) == Data(contentsOf: whole.directory.appendingPathComponent(name)))
        }
        #expect(errorText { _ = try Audit.merge(root) }.contains("no audit plan here"))
    }
}
