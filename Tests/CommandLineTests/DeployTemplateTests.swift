import Foundation
import Testing
import Yams

/// The cluster templates in deploy/: kubectl cannot check a manifest without a server
/// (`apply --dry-run=client` still asks it for the schema), so the Indexed Job's fields are
/// checked here against the Job API (batch/v1, kubernetes.io/docs/concepts/workloads/controllers/job/#completion-mode),
/// and the Slurm scripts' syntax and their array + afterok merge shape.
@Suite("The deploy/ templates")
struct DeployTemplateTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy")

    func documents(_ name: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: Self.deploy.appendingPathComponent("kubernetes/\(name)"), encoding: .utf8)
        return try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
    }

    @Test("the audit is an Indexed Job whose pods read JOB_COMPLETION_INDEX, pass --shards = completions and share one ReadWriteMany volume")
    func indexedJob() throws {
        let docs = try documents("audit-job.yaml")
        let claim = try #require(docs.first { $0["kind"] as? String == "PersistentVolumeClaim" })
        let claimName = try #require((claim["metadata"] as? [String: Any])?["name"] as? String)
        #expect(((claim["spec"] as? [String: Any])?["accessModes"] as? [String])?.contains("ReadWriteMany") == true)

        let job = try #require(docs.first { $0["kind"] as? String == "Job" })
        #expect(job["apiVersion"] as? String == "batch/v1")
        let spec = try #require(job["spec"] as? [String: Any])
        #expect(spec["completionMode"] as? String == "Indexed")
        let completions = try #require(spec["completions"] as? Int)
        let parallelism = try #require(spec["parallelism"] as? Int)
        #expect(completions >= 1 && (1...completions).contains(parallelism))
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(["OnFailure", "Never"].contains(pod["restartPolicy"] as? String ?? ""), "a Job's pods may only restart on failure or never")
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let command = try #require(container["command"] as? [String])
        let shards = try #require(command.firstIndex(of: "--shards").map { command[$0 + 1] })
        #expect(shards == String(completions), "every index below completions must be a shard")
        #expect(command.starts(with: ["amnesia", "audit"]) && !command.contains("--shard"))
        let env = try #require(container["env"] as? [[String: Any]])
        let index = try #require(env.first { $0["name"] as? String == "JOB_COMPLETION_INDEX" })
        let field = ((index["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: Any])?["fieldPath"] as? String
        #expect(field == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        try checkSharedVolume(pod: pod, container: container, claim: claimName)

        let merge = try #require(try documents("audit-merge-job.yaml").first { $0["kind"] as? String == "Job" })
        let mergePod = try #require(((merge["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let mergeContainer = try #require((mergePod["containers"] as? [[String: Any]])?.first)
        #expect((mergeContainer["command"] as? [String])?.joined(separator: " ").contains("amnesia audit --merge") == true)
        try checkSharedVolume(pod: mergePod, container: mergeContainer, claim: claimName)
    }

    /// The container mounts a volume of the pod that is the claim `claim`, at its working folder.
    func checkSharedVolume(pod: [String: Any], container: [String: Any], claim: String) throws {
        let mount = try #require((container["volumeMounts"] as? [[String: Any]])?.first)
        let volume = try #require((pod["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == mount["name"] as? String })
        #expect((volume["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String == claim)
        #expect(container["workingDir"] as? String == mount["mountPath"] as? String)
    }

    @Test("the Slurm scripts parse, submit an array and a merge that waits for it (afterok), and pass --shards", arguments: ["audit.sbatch", "zoo.sbatch"])
    func slurm(name: String) throws {
        let url = Self.deploy.appendingPathComponent("slurm/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("#SBATCH --array=") && text.contains("--dependency=\"afterok:"))
        #expect(text.contains("--shards \"$TASKS\""))
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = ["-n", url.path]
        try bash.run()
        bash.waitUntilExit()
        #expect(bash.terminationStatus == 0, "bash -n \(name)")
    }
}
