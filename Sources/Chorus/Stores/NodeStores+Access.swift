import ChorusReplication
import ChorusStores

extension NodeStores {
    /// Which keyspace a store lives in.
    enum Scope: Sendable {
        /// Replicated to every node.
        case cluster
        /// This node only (the `durable` process status adapter).
        case node
    }

    func shell(_ scope: Scope) throws(StoreError) -> StoreShell {
        let opened = try shells()
        return scope == .cluster ? opened.replicated : opened.local
    }

    /// Runs a write under the keyspace's lock; returns once its last write (the dot it returns) is
    /// committed on this node. A write that had nothing to write returns nil at once.
    func write(_ scope: Scope = .cluster, applied: ((Dot) -> Void)? = nil,
               _ body: (inout ReplicationInstance<StoreKey, StoreValue>, inout ShapeStatus) throws(StoreError) -> Dot?)
        async throws(StoreError) -> Dot? {
        try await shell(scope).write(body, applied: applied)
    }

    /// Reads the keyspace (from memory) under its lock.
    func read<R>(_ scope: Scope = .cluster,
                 _ body: (ReplicationInstance<StoreKey, StoreValue>, ShapeStatus) throws(StoreError) -> R) throws(StoreError) -> R {
        try shell(scope).read(body)
    }
}
