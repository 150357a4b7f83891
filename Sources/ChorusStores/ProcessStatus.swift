import ChorusReplication

/// When each entity was last processed, per process status `name` (seed: EventStreamex's process
/// status; an entity is a table, a timestamp the time of its last event processed, in the unit the
/// caller chooses: microseconds there).
///
/// Rules:
/// - **Timestamps never go back**: `itemProcessed` stores the highest of the new timestamp and the
///   current one. (The seed's adapters upsert, so a late lower timestamp overwrites; here it does
///   not, and an entity is never taken for less processed than it was.)
/// - **Read rule**: of concurrent entries, the highest timestamp; so concurrent writes on two nodes
///   converge to the highest.
/// - `processed(entity, timestamp)` is `lastProcessed >= timestamp`, false when the entity was never
///   processed.
/// - `reset` removes every item of the name where it is made (an item written concurrently
///   elsewhere survives it).
/// - Every write returns the dot of its last write, nil when nothing had to be written.
public enum ProcessStatus {
    /// Records that `entity` was processed up to `timestamp`. Returns nil when the entity's
    /// timestamp already was that or later.
    @discardableResult
    public static func itemProcessed(name: String, entity: String, timestamp: Int64,
                                     in replica: inout some StoreReplica) throws(StoreError) -> Dot? {
        let key = StoreKey.process(name: name, entity: entity)
        try key.checked()
        let entries = replica.entries(key)
        let latest = max(timestamp, entries.flatMap(latestTimestamp) ?? timestamp)
        if let entries, entries.count == 1, entries.first.value == .timestamp(latest) { return nil }
        return replica.write(key, .timestamp(latest))
    }

    /// Every item of the name, sorted by entity (a scan of the replica: for a start or a recovery).
    public static func load(name: String, in replica: some StoreReplica) -> [(entity: String, timestamp: Int64)] {
        entities(of: name, in: replica).compactMap { entity in
            lastProcessed(name: name, entity: entity, in: replica).map { (entity, $0) }
        }
    }

    /// Removes every item of the name, one write per entity in entity order. Returns the last dot,
    /// nil when there was none.
    @discardableResult
    public static func reset(name: String, in replica: inout some StoreReplica) -> Dot? {
        var last: Dot?
        for entity in entities(of: name, in: replica) {
            last = replica.write(.process(name: name, entity: entity), nil)
        }
        return last
    }

    /// When the entity was last processed; nil when never.
    public static func lastProcessed(name: String, entity: String, in replica: some StoreReplica) -> Int64? {
        replica.entries(.process(name: name, entity: entity)).flatMap(latestTimestamp)
    }

    /// Whether the entity was processed up to `timestamp` (its last timestamp is that or later).
    public static func processed(name: String, entity: String, timestamp: Int64, in replica: some StoreReplica) -> Bool {
        lastProcessed(name: name, entity: entity, in: replica).map { $0 >= timestamp } ?? false
    }

    private static func entities(of name: String, in replica: some StoreReplica) -> [String] {
        replica.keys { key in
            if case let .process(keyName, _) = key { keyName == name } else { false }
        }
        .compactMap { key -> String? in if case let .process(_, entity) = key { entity } else { nil } }
        .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Read rule: the highest of the concurrent timestamps.
    private static func latestTimestamp(_ entries: CausalEntries<StoreValue>) -> Int64? {
        entries.values.compactMap { if case let .timestamp(timestamp) = $0 { timestamp } else { nil } }.max()
    }
}

/// Where a process status is kept (the seed's `ProcessStatusStorageAdapter`): `none` keeps nothing,
/// `durable` this node only, `replicated` the whole cluster (those two are the shell's). The rules
/// are `ProcessStatus`'s; `name` tells several process statuses apart in one store.
public protocol ProcessStatusAdapter {
    /// Records that `entity` was processed up to `timestamp`; returns the write's dot, nil when
    /// nothing was written.
    mutating func itemProcessed(name: String, entity: String, timestamp: Int64) throws(StoreError) -> Dot?
    /// Every item of the name, sorted by entity.
    func load(name: String) -> [(entity: String, timestamp: Int64)]
    /// Removes every item of the name; returns the last write's dot, nil when nothing was written.
    mutating func reset(name: String) -> Dot?
    /// When the entity was last processed; nil when never (or not kept).
    func lastProcessed(name: String, entity: String) -> Int64?
    /// Whether the entity was processed up to `timestamp`.
    func processed(name: String, entity: String, timestamp: Int64) -> Bool
}

/// The `none` adapter (the seed's `NoAdapter`): keeps nothing, writes nothing. Loading finds no
/// item, no entity was ever processed. Not for production: after a restart every event is taken
/// for unprocessed.
public struct NoProcessStatus: ProcessStatusAdapter, Sendable {
    public init() {}

    public func itemProcessed(name: String, entity: String, timestamp: Int64) throws(StoreError) -> Dot? { nil }
    public func load(name: String) -> [(entity: String, timestamp: Int64)] { [] }
    public func reset(name: String) -> Dot? { nil }
    public func lastProcessed(name: String, entity: String) -> Int64? { nil }
    public func processed(name: String, entity: String, timestamp: Int64) -> Bool { false }
}

/// A process status kept in a replica of the stores: `ProcessStatus`'s rules over any
/// `StoreReplica` it owns (in memory for tests and simulations; the shell's durable and replicated
/// replicas for the other adapters).
public struct ReplicaProcessStatus<Replica: StoreReplica>: ProcessStatusAdapter {
    public var replica: Replica

    public init(replica: Replica) {
        self.replica = replica
    }

    @discardableResult
    public mutating func itemProcessed(name: String, entity: String, timestamp: Int64) throws(StoreError) -> Dot? {
        try ProcessStatus.itemProcessed(name: name, entity: entity, timestamp: timestamp, in: &replica)
    }

    public func load(name: String) -> [(entity: String, timestamp: Int64)] {
        ProcessStatus.load(name: name, in: replica)
    }

    @discardableResult
    public mutating func reset(name: String) -> Dot? {
        ProcessStatus.reset(name: name, in: &replica)
    }

    public func lastProcessed(name: String, entity: String) -> Int64? {
        ProcessStatus.lastProcessed(name: name, entity: entity, in: replica)
    }

    public func processed(name: String, entity: String, timestamp: Int64) -> Bool {
        ProcessStatus.processed(name: name, entity: entity, timestamp: timestamp, in: replica)
    }
}

extension ReplicaProcessStatus: Sendable where Replica: Sendable {}
