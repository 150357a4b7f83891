/// How a producer accesses its topic (Pulsar's `ProducerAccessMode`). It is part of an epoch's key,
/// as in the seed: each mode of one producer on one topic keeps its own epoch.
///
/// The raw value is the mode's one-byte tag in the wire and disk encoding (0 is never a mode, so
/// zeroed bytes are refused).
public enum EpochAccessMode: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case shared = 1
    case exclusive = 2
    case exclusiveWithFencing = 3
    case waitForExclusive = 4

    /// The text form: `"shared"`, `"exclusive"`, `"exclusive_with_fencing"`, `"wait_for_exclusive"`.
    public var text: String {
        switch self {
        case .shared: "shared"
        case .exclusive: "exclusive"
        case .exclusiveWithFencing: "exclusive_with_fencing"
        case .waitForExclusive: "wait_for_exclusive"
        }
    }

    /// Parses the text form, or Pulsar's own spelling of the mode (`"Shared"`, `"Exclusive"`,
    /// `"ExclusiveWithFencing"`, `"WaitForExclusive"`, the atoms the seed uses). Nothing else:
    /// no other case, no spaces.
    public init?(text: some StringProtocol) {
        switch String(text) {
        case "shared", "Shared": self = .shared
        case "exclusive", "Exclusive": self = .exclusive
        case "exclusive_with_fencing", "ExclusiveWithFencing": self = .exclusiveWithFencing
        case "wait_for_exclusive", "WaitForExclusive": self = .waitForExclusive
        default: return nil
        }
    }

    public var description: String { text }
}
