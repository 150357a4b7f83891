import ChorusReplication
import ChorusStores

/// The name of a store write, which any node can wait for (`LSNTracker`): its origin (the node run
/// that made it) and its sequence. Text form `"<origin hex>/<sequence hex>"`.
public typealias LSN = Dot

/// Producer epochs, replicated to every node (seed: Pulsar's `ProducerEpochStore`).
///
/// Each client has a store of its own, started with `initialize(client:)` (idempotent) and removed
/// with `removeClient(_:)`; keys are `(topic, producer, access mode)`. Reads come from memory;
/// writes return once committed on this node, with their LSN. Across nodes, concurrent puts of one
/// key converge to the highest epoch, and a put never lowers the epoch a key holds, so an epoch read
/// on any node never goes back unless the key is deleted (`EpochStore` has the rules).
public struct NodeEpochStore: Sendable {
    let stores: NodeStores

    /// Starts the client's store (nothing is written if it is started already: nil).
    @discardableResult
    public func initialize(client: String) async throws(StoreError) -> LSN? {
        try await stores.write { replica, _ throws(StoreError) in try EpochStore.initClient(client, in: &replica) }
    }

    /// Whether the client's store is started.
    public func isStarted(client: String) throws(StoreError) -> Bool {
        try stores.read { replica, _ in EpochStore.isStarted(client, in: replica) }
    }

    /// Removes the client's store and every epoch in it; nil when there was nothing to remove.
    @discardableResult
    public func removeClient(_ client: String) async throws(StoreError) -> LSN? {
        try await stores.write { replica, _ in EpochStore.removeClient(client, in: &replica) }
    }

    /// The stored epoch, nil when none; `clientNotStarted` for a client never started (the seed's
    /// error value, never a crash).
    public func get(client: String, topic: String, producer: String, mode: EpochAccessMode) throws(StoreError) -> UInt64? {
        try stores.read { replica, _ throws(StoreError) in
            try EpochStore.get(client: client, topic: topic, producer: producer, mode: mode, in: replica)
        }
    }

    /// Stores `epoch` (or keeps a higher one already stored). Returns the LSN of the write, or, when
    /// the key already held that epoch or a higher one and nothing was written, the LSN of the write
    /// that stored it: either way, a node that has applied the LSN reads at least `epoch`.
    @discardableResult
    public func put(client: String, topic: String, producer: String, mode: EpochAccessMode, epoch: UInt64)
        async throws(StoreError) -> LSN {
        try await put(client: client, topic: topic, producer: producer, mode: mode, epoch: epoch, applied: nil)
    }

    /// `put`, calling `applied` with the write's LSN as soon as it is applied here, before it is
    /// durable (for the stores benchmark, which times replication from that instant).
    @discardableResult
    package func put(client: String, topic: String, producer: String, mode: EpochAccessMode, epoch: UInt64,
                     applied: ((LSN) -> Void)?) async throws(StoreError) -> LSN {
        let key = StoreKey.epoch(EpochKey(client: client, topic: topic, producer: producer, mode: mode))
        if let lsn = try await stores.write(.cluster, applied: applied, { replica, _ throws(StoreError) in
            try EpochStore.put(client: client, topic: topic, producer: producer, mode: mode, epoch: epoch, in: &replica)
        }) {
            return lsn
        }
        return try stores.read { replica, _ throws(StoreError) in
            let holders = replica.state[key]?.all.filter { if case let .epoch(stored) = $0.value { stored >= epoch } else { false } }
            guard let holder = holders?.max(by: { $0.dot < $1.dot }) else {
                throw .invalidArgument("the epoch of \(topic)/\(producer) was removed meanwhile")
            }
            return holder.dot
        }
    }

    /// Deletes the stored epoch; nil when there was none.
    @discardableResult
    public func delete(client: String, topic: String, producer: String, mode: EpochAccessMode) async throws(StoreError) -> LSN? {
        try await stores.write { replica, _ throws(StoreError) in
            try EpochStore.delete(client: client, topic: topic, producer: producer, mode: mode, in: &replica)
        }
    }

    /// Whether a producer that presents `epoch` is fenced: a higher epoch is stored (PIP-68).
    public func isFenced(client: String, topic: String, producer: String, mode: EpochAccessMode, epoch: UInt64)
        throws(StoreError) -> Bool {
        try stores.read { replica, _ in
            EpochStore.isFenced(client: client, topic: topic, producer: producer, mode: mode, epoch: epoch, in: replica)
        }
    }
}
