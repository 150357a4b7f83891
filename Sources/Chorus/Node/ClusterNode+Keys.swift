import ChorusLoop
import ChorusSeal

/// The keyring a node seals with, numbered at every change so that its loops never go back to
/// an older one. Changes are made and saved under one lock, one at a time.
final class NodeKeyring: Sendable {
    private let state = LockedValue<(keyring: Keyring?, version: UInt64)>((nil, 0))

    var current: (keyring: Keyring?, version: UInt64) { state.withLock { $0 } }

    func set(_ keyring: Keyring) -> UInt64 {
        state.withLock { state in
            state = (keyring, state.version + 1)
            return state.version
        }
    }

    /// Applies `change` to the keyring and saves the result with `save` before it counts; a
    /// failure of either changes nothing. Returns the new keyring, its version and `change`'s answer.
    func change<R>(_ change: (inout Keyring) throws(KeyringError) -> R,
                   save: (Keyring) throws(KeyringError) -> Void) throws(KeyringError) -> (Keyring, UInt64, R) {
        let outcome: Result<(Keyring, UInt64, R), KeyringError> = state.withLock { state in
            guard var keyring = state.keyring else { return .failure(.insecure) }
            do throws(KeyringError) {
                let answer = try change(&keyring)
                if keyring != state.keyring { try save(keyring) }
                state = (keyring, state.version + 1)
                return .success((keyring, state.version, answer))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}

/// What a node's keyring holds, for the admin API: key ids only, never keys.
public struct KeyringStatus: Sendable, Equatable {
    /// The node runs without encryption.
    public var insecure: Bool
    /// The key this node seals with.
    public var primary: KeyID?
    /// Every key this node opens with, the primary first.
    public var keys: [KeyID]

    public init(insecure: Bool, primary: KeyID?, keys: [KeyID]) {
        self.insecure = insecure
        self.primary = primary
        self.keys = keys
    }
}

extension ClusterNode {
    /// At start: the keyring saved in the data directory, else the settings'; given to both loops.
    func useKeyringAtStart() async throws {
        guard let configured = settings.keyring else {
            logger.warning("node-to-node traffic is NOT encrypted or authenticated (insecure: true): anyone who reaches \(settings.bind) can join this cluster, read its groups and write its stores")
            return
        }
        let saved = try KeyringFile.load(dataDir: settings.dataDir)
        if let saved, saved.key(withID: configured.primary.id) == nil {
            logger.warning("the keyring saved in \(settings.dataDir) (primary \(saved.primary.id)) does not hold the config's key \(configured.primary.id); using the saved one (`chorus keys` changed it)")
        }
        let keyring = saved ?? configured
        try await distribute(keyring, version: keys.set(keyring))
        logger.info("node-to-node traffic sealed with AES-256-GCM, primary \(keyring.primary.id), \(keyring.keys.count) key(s)")
    }

    private func distribute(_ keyring: Keyring, version: UInt64) async throws {
        let datagrams = self.datagrams
        let links = self.links
        let cluster = settings.cluster
        try await failureDetectorLoop.submit { datagrams.useKeyring(keyring, version: version, cluster: cluster) }
        try await dataLoop.submit { links.useKeyring(keyring, version: version) }
    }

    /// Which keys this node holds (ids only).
    public func keyringStatus() -> KeyringStatus {
        guard let keyring = keys.current.keyring else { return KeyringStatus(insecure: true, primary: nil, keys: []) }
        return KeyringStatus(insecure: false, primary: keyring.primary.id, keys: keyring.keys.map(\.id))
    }

    /// Adds a key this node opens with (step 1 of a rotation, on every node). False when it held
    /// it already.
    public func installKey(_ key: ClusterKey) async throws(KeyringError) -> Bool {
        try await changeKeyring { keyring throws(KeyringError) in keyring.install(key) }
    }

    /// Makes an installed key the one this node seals with (step 2, on every node once all have
    /// it). False when it was already.
    public func useKey(_ key: ClusterKey) async throws(KeyringError) -> Bool {
        try await changeKeyring { keyring throws(KeyringError) in try keyring.use(key) }
    }

    /// Removes a key that is not the primary (step 3, on every node once all seal with the new one).
    public func removeKey(_ key: ClusterKey) async throws(KeyringError) {
        try await changeKeyring { keyring throws(KeyringError) in try keyring.remove(key) }
    }

    private func changeKeyring<R>(_ change: (inout Keyring) throws(KeyringError) -> R) async throws(KeyringError) -> R {
        let dataDir = settings.dataDir
        let (keyring, version, answer) = try keys.change(change) { keyring throws(KeyringError) in
            try KeyringFile.save(keyring, dataDir: dataDir)
        }
        do {
            try await distribute(keyring, version: version)
        } catch {
            throw .notSaved("the node is stopped: \(error)")
        }
        logger.notice("keyring changed: primary \(keyring.primary.id), keys \(keyring.keys.map(\.id.description).joined(separator: ", "))")
        return answer
    }
}
