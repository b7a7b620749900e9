/// Which part of an experiment a victim belongs to: a zoo holds `crafting` and `heldout`
/// victims; a report also scores the attacker's `known` one.
///
/// The distinction is the heart of an honest evaluation: only `heldout` victims were never
/// seen while crafting, so only they measure how the poison transfers to unknown weights.
public enum VictimRole: String, Codable, Sendable, CaseIterable {
    /// The attacker may sample these while crafting; scores on them are optimistic.
    case crafting
    /// Only ever used for evaluation; the headline numbers come from these.
    case heldout
    /// The one network the attacker knows exactly (fixed, white-box knowledge): a role in a
    /// report, never in a zoo's manifest.
    case known

    /// The roles a zoo's victims can have.
    public static let zooRoles: [VictimRole] = [.crafting, .heldout]
}
