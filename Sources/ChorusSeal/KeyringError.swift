/// Why a keyring operation or a key was refused.
public enum KeyringError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is not a key (not base64, or not 32 bytes).
    case invalidKey(String)
    /// `use` or `remove` of a key the keyring does not hold.
    case unknownKey(KeyID)
    /// `remove` of the primary key: another must be made primary first.
    case removingPrimary(KeyID)
    /// A keyring file that does not hold one key per line.
    case invalidFile(String)
    /// The node runs without a keyring (`insecure: true`): there is nothing to rotate.
    case insecure
    /// The changed keyring could not be saved in the data directory; nothing changed.
    case notSaved(String)

    public var description: String {
        switch self {
        case let .invalidKey(reason): "not a cluster key: \(reason)"
        case let .unknownKey(id): "the keyring holds no key \(id)"
        case let .removingPrimary(id): "key \(id) is the primary key: make another key primary (`chorus keys use`) before removing it"
        case let .invalidFile(reason): "not a keyring file: \(reason)"
        case .insecure: "this node runs without a keyring (insecure: true): its traffic is not sealed"
        case let .notSaved(reason): "the keyring could not be saved, nothing changed: \(reason)"
        }
    }
}
