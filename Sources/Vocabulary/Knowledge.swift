import Specs

/// What the attacker knows about the victim's weights. It lives beside the zoo because it
/// decides which victims the attacker may use (the known one, or the crafting set), and the
/// attack spec, the evaluator and the report all speak of it.
public enum Knowledge: String, SpecChoice, Sendable {
    /// White-box: one known victim's exact weights.
    case fixed
    /// Weights drawn from a known distribution: victims sampled from the crafting zoo.
    case distribution
}
