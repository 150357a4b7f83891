import ChorusStores

extension ClusterNode {
    /// Producer epochs, replicated to every node.
    public var epochs: NodeEpochStore { NodeEpochStore(stores: stores) }

    /// Shape status, replicated to every node.
    public var shapes: NodeShapeStatus { NodeShapeStatus(stores: stores) }

    /// The process status called `name`, kept as `keeping` says. Two names are two statuses; the
    /// same name kept `durable` and `replicated` are two statuses too (one per keyspace).
    public func processStatus(named name: String, keeping: ProcessStatusKeeping = .replicated) -> NodeProcessStatus {
        NodeProcessStatus(stores: stores, name: name, keeping: keeping)
    }

    /// The LSN tracker called `name` (any number side by side).
    public func lsnTracker(named name: String = "default") -> LSNTracker {
        LSNTracker(stores: stores, name: name)
    }
}

/// Figures of a node's replicated stores, for metrics, benchmarks and `/v1/self`-style views.
public struct StoreFigures: Sendable, Equatable {
    /// Keys held in memory (replicated keyspace, then local).
    public var replicatedKeys: Int
    public var localKeys: Int
    /// Keys read from disk at start, and how long opening and reading took.
    public var restoredKeys: Int
    public var restoreSeconds: Double
    /// Writes this node run made.
    public var writes: UInt64
    /// Deltas held to repair peers, and received ones waiting for a write they replaced.
    public var loggedDeltas: Int
    public var waitingDeltas: Int
    /// Peers linked for replication.
    public var peers: Int
    public var counters: ReplicationInstance<StoreKey, StoreValue>.Counters
    /// Replication towards each linked peer, sorted by name.
    public var replication: [PeerReplication]
}

/// Replication from this node towards one peer: the writes this node holds that the peer has
/// not acknowledged (by its digests, every `digest_interval`), and the replication lag, the age of
/// the oldest of them (0 when there is none). Under steady writes the lag stays below about one
/// digest interval; one that keeps growing names a peer that does not catch up (a slow or cut-off
/// node, or one being sent a snapshot).
public struct PeerReplication: Sendable, Equatable {
    /// The peer's node name.
    public var peer: String
    public var pendingDeltas: UInt64
    public var lagSeconds: Double
}

extension ClusterNode {
    /// The stores' figures; nil before `start` or after `stop`.
    public func storeFigures() -> StoreFigures? {
        guard let opened = try? stores.shells() else { return nil }
        let localKeys = opened.local.inspect { $0.state.keyCount }
        var figures = opened.replicated.inspect { instance in
            StoreFigures(replicatedKeys: instance.state.keyCount, localKeys: localKeys, restoredKeys: opened.restoredKeys,
                         restoreSeconds: opened.restoreSeconds, writes: instance.sequence, loggedDeltas: instance.loggedDeltas,
                         waitingDeltas: instance.waitingDeltas, peers: instance.peerIDs.count, counters: instance.counters,
                         replication: [])
        }
        figures.replication = opened.replicated.peerBacklogs()
        return figures
    }
}
