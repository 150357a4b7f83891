import ChorusReplication

/// Producers' topic epochs, per client (seed: Pulsar's `ProducerEpochStore`). A producer sends its
/// stored epoch when it reconnects; the broker fences a producer whose epoch is below the topic's
/// (PIP-68: a fenced producer never gets another message into the topic).
///
/// Rules:
/// - A client's store **exists** from `initClient` until `removeClient` (the seed's ETS table per
///   client); reading or writing the epochs of a client whose store does not exist is
///   `clientNotStarted`, an error, never a crash.
/// - **Epochs never go back**: `put` stores the highest of the new epoch and every epoch the key
///   holds. (The seed's `put` overwrites; here a late or replayed lower put cannot lower an epoch.)
/// - **Read rule**: of concurrent entries (puts on different nodes that did not see each other),
///   the highest epoch. So concurrent puts converge to the highest on every node.
/// - `delete` and `removeClient` remove what the key holds where they are made; a put made
///   concurrently elsewhere survives them (its entry was not seen), which errs on the side of
///   fencing. Such an epoch under a removed client shows again if the client starts again.
/// - Every write returns the dot of its last write, or nil when nothing had to be written.
public enum EpochStore {
    /// Creates the client's store; nothing is written when it exists already (idempotent, nil).
    @discardableResult
    public static func initClient(_ client: String, in replica: inout some StoreReplica) throws(StoreError) -> Dot? {
        let key = StoreKey.epochClient(client: client)
        try key.checked()
        guard replica.entries(key) == nil else { return nil }
        return replica.write(key, .marker)
    }

    /// Whether the client's store exists.
    public static func isStarted(_ client: String, in replica: some StoreReplica) -> Bool {
        replica.entries(.epochClient(client: client)) != nil
    }

    /// Removes the client's store: its marker first (from then on the client is not started), then
    /// every epoch of the client, one write per key in a fixed order (topic, producer, mode).
    /// Returns the last write's dot; nil when the client had nothing.
    @discardableResult
    public static func removeClient(_ client: String, in replica: inout some StoreReplica) -> Dot? {
        var last: Dot?
        let marker = StoreKey.epochClient(client: client)
        if replica.entries(marker) != nil { last = replica.write(marker, nil) }
        let epochs = replica.keys { key in
            if case let .epoch(epoch) = key { epoch.client == client } else { false }
        }
        .compactMap { key -> EpochKey? in if case let .epoch(epoch) = key { epoch } else { nil } }
        .sorted { ($0.topic, $0.producer, $0.mode.rawValue) < ($1.topic, $1.producer, $1.mode.rawValue) }
        for epoch in epochs { last = replica.write(.epoch(epoch), nil) }
        return last
    }

    /// The producer's stored epoch (the highest of concurrent ones); nil when none is stored.
    public static func get(client: String, topic: String, producer: String, mode: EpochAccessMode,
                           in replica: some StoreReplica) throws(StoreError) -> UInt64? {
        let key = EpochKey(client: client, topic: topic, producer: producer, mode: mode)
        try requireStarted(client, in: replica)
        return stored(key, in: replica)
    }

    /// Stores `epoch`, or keeps the higher epoch the key already holds (see the type's rules).
    /// Returns nil when the key already held that epoch alone.
    @discardableResult
    public static func put(client: String, topic: String, producer: String, mode: EpochAccessMode, epoch: UInt64,
                           in replica: inout some StoreReplica) throws(StoreError) -> Dot? {
        let key = StoreKey.epoch(EpochKey(client: client, topic: topic, producer: producer, mode: mode))
        try key.checked()
        try requireStarted(client, in: replica)
        let entries = replica.entries(key)
        let highest = max(epoch, entries.map { highestEpoch(in: $0) ?? 0 } ?? 0)
        if let entries, entries.count == 1, entries.first.value == .epoch(highest) { return nil }
        return replica.write(key, .epoch(highest))
    }

    /// Removes the producer's epoch; nil when none was stored.
    @discardableResult
    public static func delete(client: String, topic: String, producer: String, mode: EpochAccessMode,
                              in replica: inout some StoreReplica) throws(StoreError) -> Dot? {
        let key = StoreKey.epoch(EpochKey(client: client, topic: topic, producer: producer, mode: mode))
        try requireStarted(client, in: replica)
        guard replica.entries(key) != nil else { return nil }
        return replica.write(key, nil)
    }

    /// Whether a producer presenting `epoch` is fenced: a higher epoch is stored for it (PIP-68).
    /// It reads the stored epoch even when the client is not started (an epoch a concurrent put left
    /// under a removed client still fences), and is false when none is stored.
    public static func isFenced(client: String, topic: String, producer: String, mode: EpochAccessMode, epoch: UInt64,
                                in replica: some StoreReplica) -> Bool {
        let key = EpochKey(client: client, topic: topic, producer: producer, mode: mode)
        return stored(key, in: replica).map { $0 > epoch } ?? false
    }

    private static func requireStarted(_ client: String, in replica: some StoreReplica) throws(StoreError) {
        guard isStarted(client, in: replica) else { throw .clientNotStarted(client: client) }
    }

    private static func stored(_ key: EpochKey, in replica: some StoreReplica) -> UInt64? {
        replica.entries(.epoch(key)).flatMap(highestEpoch)
    }

    /// Read rule: the highest of the concurrent epochs.
    private static func highestEpoch(in entries: CausalEntries<StoreValue>) -> UInt64? {
        if entries.count == 1 {
            if case let .epoch(epoch) = entries.first.value { return epoch } else { return nil }
        }
        return entries.values.compactMap { if case let .epoch(epoch) = $0 { epoch } else { nil } }.max()
    }
}
