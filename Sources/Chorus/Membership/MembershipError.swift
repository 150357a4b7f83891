import ChorusWire

/// A membership request the node refuses, with what would have been accepted.
public enum MembershipError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Metadata larger than `WireLimits.maxMemberMeta` bytes.
    case metaTooLarge(bytes: Int)
    /// Fault injection asked of a node started without `debug_faults`.
    case faultsDisabled

    public var description: String {
        switch self {
        case .metaTooLarge(let bytes):
            "member metadata is \(bytes) bytes; at most \(WireLimits.maxMemberMeta) are allowed"
        case .faultsDisabled:
            "fault injection is off on this node; start it with debug_faults: true (or --debug-faults)"
        }
    }
}
