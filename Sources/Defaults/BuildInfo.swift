import Formats

/// What `amnesia --version` prints: the release and the git commit the binary was built
/// from (`unknown` when built outside a git checkout; `-modified` when the checkout had
/// uncommitted changes). The BuildCommit plugin writes `buildCommit` at every build.
public let versionText = "\(amnesiaVersion) (commit \(buildCommit))"
