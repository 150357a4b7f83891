import ChorusReplication
import ChorusWire

/// What the store rules need from a replica of the stores: reading a key's concurrent entries,
/// scanning keys, and writing.
///
/// A write replaces every entry the key holds here (nil removes the key) and returns its dot, the
/// LSN a caller can wait on to read its write on another node.
public protocol StoreReplica {
    /// The entries `key` holds; nil when it holds none.
    func entries(_ key: StoreKey) -> CausalEntries<StoreValue>?
    /// Every key `matching` accepts, in no particular order. A scan of the whole replica: for rare
    /// operations (removing a client, loading a process status).
    func keys(matching: (StoreKey) -> Bool) -> [StoreKey]
    /// Writes `value` (nil: removes the key) with a new dot, returned.
    mutating func write(_ key: StoreKey, _ value: StoreValue?) -> Dot
}

/// A replica in memory, for tests and simulations, and for the stores' `none` uses: a
/// `ReplicaState`, the uid of this node's run and the count of its writes.
public struct InMemoryStoreReplica: StoreReplica, Equatable, Sendable {
    public let origin: NodeUID
    /// The sequence of this replica's latest write.
    public private(set) var sequence: UInt64 = 0
    public private(set) var state: ReplicaState<StoreKey, StoreValue>

    /// A replica of the run `origin` starting from `state`, which must hold none of that run's
    /// writes (a run's uid is new at every start).
    public init(origin: NodeUID, state: ReplicaState<StoreKey, StoreValue> = .init()) {
        precondition(state.context.version(of: origin) == 0, "a node's uid is new at every start")
        self.origin = origin
        self.state = state
    }

    public func entries(_ key: StoreKey) -> CausalEntries<StoreValue>? { state[key] }

    public func keys(matching accept: (StoreKey) -> Bool) -> [StoreKey] {
        state.entries.keys.filter(accept)
    }

    public mutating func write(_ key: StoreKey, _ value: StoreValue?) -> Dot {
        sequence += 1
        let dot = Dot(origin: origin, sequence: sequence)
        _ = state.write(key, value, dot: dot)
        return dot
    }

    /// Joins another replica's state (a snapshot). Returns the keys whose entries changed: what a
    /// `ShapeStatus` must be told of.
    @discardableResult
    public mutating func join(_ other: InMemoryStoreReplica) -> Set<StoreKey> {
        state.join(other.state)
    }

    /// Joins one delta (a peer's write).
    @discardableResult
    public mutating func apply(_ delta: KeyDelta<StoreKey, StoreValue>) -> ReplicaState<StoreKey, StoreValue>.Outcome {
        state.apply(delta)
    }
}

/// A node's replication core is the replica its stores write to: a write is stamped with the latest
/// time the core was given, and pushed to the peers with the next batch.
extension ReplicationInstance: StoreReplica where Key == StoreKey, Value == StoreValue {
    public func entries(_ key: StoreKey) -> CausalEntries<StoreValue>? { state[key] }

    public func keys(matching accept: (StoreKey) -> Bool) -> [StoreKey] {
        state.entries.keys.filter(accept)
    }

    public mutating func write(_ key: StoreKey, _ value: StoreValue?) -> Dot {
        write(key, value, now: now).dot
    }
}
