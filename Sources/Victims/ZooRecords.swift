import Formats
import Foundation

/// How tasks that train one zoo side by side (shards, possibly on several hosts sharing
/// the folder) keep its manifest whole: each finished victim's record is written under its
/// own name in `records/` (after its weights, both atomically), and the manifest is rebuilt
/// from it and every other record under a lease lock (`manifest.lease`, safe on NFS). A
/// record file is never lost, so a manifest that missed one (a task killed between the two
/// writes) gains it at the next merge, which every training run does when it starts.
extension Zoo {
    /// The folder of per-victim record files.
    static let recordsFolder = "records"
    /// The lease lock every manifest rebuild holds.
    static let manifestLease = "manifest.lease"

    /// Writes the record files of freshly trained victims (their weights already written).
    static func writeRecords(_ records: [VictimRecord], in directory: URL) throws {
        for record in records {
            try AtomicFile.write(CanonicalJSON.encode(record, pretty: true),
                                 to: directory.appendingPathComponent("\(recordsFolder)/\(record.id).json"))
        }
    }

    /// Under the manifest's lease lock: opens the zoo's manifest (written fresh from `fresh`
    /// when missing, or when it has no victims and another spec), refuses one of another
    /// spec, merges in every record file of a victim `spec` plans with that seed, and saves
    /// the manifest when that changed it. Returns the zoo as saved.
    static func mergeRecords(into fresh: Zoo, planned: [String: UInt64]) throws -> Zoo {
        let directory = fresh.directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lock = try LeaseLock(directory.appendingPathComponent(manifestLease).path, purpose: "updating the zoo's manifest")
        defer { withExtendedLifetime(lock) {} }
        var zoo = fresh
        var changed = true
        // A zoo without victims holds nothing to keep: a corrected spec replaces it.
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("manifest.json").path),
           case let existing = try Zoo(at: directory), !existing.manifest.victims.isEmpty || existing.manifest.spec == fresh.manifest.spec {
            guard existing.manifest.spec == fresh.manifest.spec else {
                throw ZooError("\(directory.path) holds a zoo trained from a different spec; give the spec another name or delete that folder")
            }
            (zoo, changed) = (existing, false)
        }
        var manifest = zoo.manifest
        let folder = directory.appendingPathComponent(recordsFolder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            guard let record = try? JSONDecoder().decode(VictimRecord.self, from: Data(contentsOf: folder.appendingPathComponent(name))),
                  name == "\(record.id).json", planned[record.id] == record.seed,
                  manifest.victims.first(where: { $0.id == record.id }) != record else { continue }
            manifest.victims.removeAll { $0.id == record.id }
            manifest.victims.append(record)
            changed = true
        }
        guard changed else { return zoo }
        manifest.victims.sort { ($0.role.rawValue, $0.id) < ($1.role.rawValue, $1.id) }
        let merged = Zoo(directory: directory, manifest: manifest)
        try merged.saveManifest()
        return merged
    }
}
