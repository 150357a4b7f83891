/// Why a sealed frame did not open. Its `reason` labels the dropped-packet counters.
public enum SealError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than a sealed frame can be.
    case truncated(Int)
    /// Sealed with a key this node's keyring does not hold (another cluster's, or one removed).
    case unknownKey(KeyID)
    /// The tag does not match: a wrong key, another cluster's name, or bytes changed on the way.
    case unauthentic
    /// This sender's frame with this counter was opened before (or is too old to tell).
    case replayed(UInt64)

    public var reason: String {
        switch self {
        case .truncated: "sealed_truncated"
        case .unknownKey: "unknown_key"
        case .unauthentic: "unauthentic"
        case .replayed: "replayed"
        }
    }

    public var description: String {
        switch self {
        case let .truncated(count): "a sealed frame of \(count) bytes is shorter than its envelope"
        case let .unknownKey(id): "sealed with key \(id), which this node does not hold"
        case .unauthentic: "does not authenticate (wrong key or cluster name, or altered)"
        case let .replayed(counter): "a replay: frame \(counter) of this sender was opened before, or is too old to tell"
        }
    }
}
