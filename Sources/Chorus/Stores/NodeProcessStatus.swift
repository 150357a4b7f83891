import ChorusReplication
import ChorusStores

/// Where a process status keeps its items (seed: EventStreamex's adapters).
public enum ProcessStatusKeeping: String, Sendable, CaseIterable {
    /// Keeps nothing: every entity reads as never processed (for tests, as the seed's NoAdapter).
    case none
    /// On this node's disk only.
    case durable
    /// Replicated to every node.
    case replicated
}

/// The last processed timestamp of each entity, for one named process (seed: EventStreamex's
/// process status adapters: `item_processed`, `load`, `reset`).
///
/// Unlike the seed, whose upsert lets a late lower timestamp overwrite a higher one, an item keeps
/// the highest timestamp it was given, on one node and across nodes (`ProcessStatus` has the rules).
public struct NodeProcessStatus: Sendable {
    let stores: NodeStores
    /// The process's name: its items are apart from other processes'.
    public let name: String
    public let keeping: ProcessStatusKeeping

    private var scope: NodeStores.Scope { keeping == .replicated ? .cluster : .node }

    /// Records that `entity` was processed up to `timestamp` (microseconds, by the seed's
    /// convention). Returns the write's LSN, nil when nothing was written (`none`, or a timestamp
    /// not above the stored one).
    @discardableResult
    public func itemProcessed(entity: String, timestamp: Int64) async throws(StoreError) -> LSN? {
        guard keeping != .none else { return try NoProcessStatus().itemProcessed(name: name, entity: entity, timestamp: timestamp) }
        let name = self.name
        return try await stores.write(scope) { replica, _ throws(StoreError) in
            try ProcessStatus.itemProcessed(name: name, entity: entity, timestamp: timestamp, in: &replica)
        }
    }

    /// Every item, sorted by entity (the seed's `load`).
    public func load() throws(StoreError) -> [(entity: String, timestamp: Int64)] {
        guard keeping != .none else { return [] }
        let name = self.name
        return try stores.read(scope) { replica, _ in ProcessStatus.load(name: name, in: replica) }
    }

    /// Removes every item of this process; nil when there was none.
    @discardableResult
    public func reset() async throws(StoreError) -> LSN? {
        guard keeping != .none else { return nil }
        let name = self.name
        return try await stores.write(scope) { replica, _ in ProcessStatus.reset(name: name, in: &replica) }
    }

    /// The entity's last processed timestamp; nil when never.
    public func lastProcessed(entity: String) throws(StoreError) -> Int64? {
        guard keeping != .none else { return nil }
        let name = self.name
        return try stores.read(scope) { replica, _ in ProcessStatus.lastProcessed(name: name, entity: entity, in: replica) }
    }

    /// Whether the entity was processed up to `timestamp` (its last timestamp is at least that).
    public func processed(entity: String, timestamp: Int64) throws(StoreError) -> Bool {
        guard keeping != .none else { return false }
        let name = self.name
        return try stores.read(scope) { replica, _ in
            ProcessStatus.processed(name: name, entity: entity, timestamp: timestamp, in: replica)
        }
    }
}
