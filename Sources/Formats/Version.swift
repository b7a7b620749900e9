/// The version of Amnesia that every report, manifest and `--version` names.
public let amnesiaVersion = "0.1.0"
