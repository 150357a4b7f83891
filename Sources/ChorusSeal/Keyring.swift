/// The cluster's keys on one node: the primary seals everything this node sends; every key opens
/// what it receives. Keys rotate without downtime, as Serf's keyring does:
/// 1. `install` the new key on every node (each can now open it);
/// 2. `use` it on every node (each now seals with it; the old key still opens what is in flight);
/// 3. `remove` the old key on every node.
///
/// Rules: installing a key held already changes nothing; `use` needs an installed key; the
/// primary cannot be removed; a keyring is never empty.
public struct Keyring: Equatable, Sendable {
    public private(set) var primary: ClusterKey
    /// Every key, the primary first, then in the order they were installed.
    public private(set) var keys: [ClusterKey]

    public init(primary: ClusterKey, others: [ClusterKey] = []) {
        self.primary = primary
        keys = [primary]
        for key in others where !keys.contains(key) { keys.append(key) }
    }

    public func key(withID id: KeyID) -> ClusterKey? { keys.first { $0.id == id } }

    /// Adds `key`; false when it was there already.
    @discardableResult
    public mutating func install(_ key: ClusterKey) -> Bool {
        guard !keys.contains(key) else { return false }
        keys.append(key)
        return true
    }

    /// Makes an installed key the primary; false when it was already.
    @discardableResult
    public mutating func use(_ key: ClusterKey) throws(KeyringError) -> Bool {
        guard let index = keys.firstIndex(of: key) else { throw .unknownKey(key.id) }
        guard key != primary else { return false }
        keys.remove(at: index)
        keys.insert(key, at: 0)
        primary = key
        return true
    }

    /// Removes a key that is not the primary.
    public mutating func remove(_ key: ClusterKey) throws(KeyringError) {
        guard key != primary else { throw .removingPrimary(key.id) }
        guard let index = keys.firstIndex(of: key) else { throw .unknownKey(key.id) }
        keys.remove(at: index)
    }

    // MARK: The keyring file

    /// A keyring file: one base64 key per line, the primary first; blank lines and lines starting
    /// with `#` are skipped.
    public init(file text: String) throws(KeyringError) {
        var keys: [ClusterKey] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = String(line).trimmingWhitespace
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                keys.append(try ClusterKey(base64: String(trimmed)))
            } catch {
                throw .invalidFile("line \(number + 1): \(error)")
            }
        }
        guard let primary = keys.first else { throw .invalidFile("it holds no key") }
        self.init(primary: primary, others: Array(keys.dropFirst()))
    }

    /// The keyring file's text (see `init(file:)`).
    public var file: String {
        "# Chorus keyring: the first key is the primary. Written by the node; keep it secret.\n"
            + keys.map(\.base64).joined(separator: "\n") + "\n"
    }
}
