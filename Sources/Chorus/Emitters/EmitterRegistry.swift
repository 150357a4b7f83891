import Atomics

/// Emitter names per `(store, subscription)`, kept for fast reads (reckon_db keeps them in
/// `persistent_term`): a read is one atomic load of an immutable table, no lock; a write copies
/// the table and swaps it in, so writes are for setup, not for the hot path.
public final class EmitterRegistry: Sendable {
    private final class Table: AtomicReference, Sendable {
        let names: [Key: [String]]
        init(_ names: [Key: [String]]) { self.names = names }
    }

    private struct Key: Hashable, Sendable {
        var store: String
        var subscription: String
    }

    private let table = ManagedAtomic(Table([:]))

    public init() {}

    /// Records the names of a pool of `poolSize` emitters for the subscription and returns them
    /// (replacing an earlier pool's). A pool size below 1 records no names.
    @discardableResult
    public func persistEmitters(store: String, subscription: String, poolSize: Int) -> [String] {
        let names = EmitterNames.pool(store: store, subscription: subscription, size: poolSize)
        let key = Key(store: store, subscription: subscription)
        while true {
            let current = table.load(ordering: .acquiring)
            var next = current.names
            next[key] = names
            if table.compareExchange(expected: current, desired: Table(next), ordering: .acquiringAndReleasing).exchanged {
                return names
            }
        }
    }

    /// The names persisted for the subscription, or `[]`.
    public func retrieveEmitters(store: String, subscription: String) -> [String] {
        table.load(ordering: .acquiring).names[Key(store: store, subscription: subscription)] ?? []
    }
}
