import Foundation
import PackagePlugin

/// Writes `BuildCommit.swift` (`let buildCommit = "<commit>"`) into the build folder before
/// every build, so `amnesia --version` names the commit without a file in the source tree.
/// The file is rewritten only when the commit changes, so nothing recompiles otherwise.
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = context.pluginWorkDirectoryURL.appendingPathComponent("generated")
        return [.prebuildCommand(
            displayName: "Recording the git commit for amnesia --version",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", script, "build-commit", context.package.directoryURL.path, folder.path],
            outputFilesDirectory: folder)]
    }

    /// `$1` is the package folder, `$2` the output folder. The commit is `unknown` unless the
    /// package folder is itself the top of a git work tree (not a folder inside another
    /// repository) and git answers; `--no-optional-locks` keeps git from touching the index.
    private let script = #"""
        commit=unknown
        top=$(git -C "$1" rev-parse --show-toplevel 2>/dev/null) || top=
        if [ -n "$top" ] && [ "$top" = "$(cd "$1" && pwd -P)" ]; then
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
            if [ "$commit" != unknown ] && ! git --no-optional-locks -C "$1" diff --quiet HEAD -- 2>/dev/null; then
                commit="$commit-modified"
            fi
        fi
        mkdir -p "$2"
        printf '/// The git commit this binary was built from (written by the BuildCommit plugin).\nlet buildCommit = "%s"\n' "$commit" > "$2.new"
        if cmp -s "$2.new" "$2/BuildCommit.swift"; then rm -f "$2.new"; else mv "$2.new" "$2/BuildCommit.swift"; fi
        """#
}
