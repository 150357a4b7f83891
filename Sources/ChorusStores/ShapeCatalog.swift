/// The shapes a replica holds, indexed for lookups: per stack, every handle whose definition is in
/// the replica, and the handles by hash (to find a shape by its definition without a scan).
///
/// It is derived, never replicated: built from a replica (`init(of:)`), then kept equal to what
/// it would be rebuilt from the replica by `update(_:in:)` for every key that changed. Only the
/// definition keys count: a shape is in the store exactly while its definition is.
public struct ShapeCatalog: Equatable, Sendable {
    private struct Stack: Equatable, Sendable {
        var handles: Set<ShapeHandle> = []
        var byHash: [UInt64: Set<ShapeHandle>] = [:]
    }

    private var stacks: [String: Stack] = [:]

    /// An empty catalog (of an empty replica).
    public init() {}

    /// The catalog of every shape `replica` holds.
    public init(of replica: some StoreReplica) {
        let definitions = replica.keys { key in
            if case .shape(_, _, .definition) = key { true } else { false }
        }
        for key in definitions { update(key, in: replica) }
    }

    /// Brings the catalog up to date with `key` as `replica` now holds it; keys other than shape
    /// definitions change nothing.
    public mutating func update(_ key: StoreKey, in replica: some StoreReplica) {
        guard case let .shape(stack, handle, .definition) = key else { return }
        if replica.entries(key) != nil {
            stacks[stack, default: Stack()].handles.insert(handle)
            stacks[stack, default: Stack()].byHash[handle.hash, default: []].insert(handle)
        } else if stacks[stack]?.handles.remove(handle) != nil {
            stacks[stack]!.byHash[handle.hash]!.remove(handle)
            if stacks[stack]!.byHash[handle.hash]!.isEmpty { stacks[stack]!.byHash[handle.hash] = nil }
            if stacks[stack]!.handles.isEmpty { stacks[stack] = nil }
        }
    }

    /// Brings the catalog up to date with each of `keys`.
    public mutating func update(_ keys: some Sequence<StoreKey>, in replica: some StoreReplica) {
        for key in keys { update(key, in: replica) }
    }

    /// The stacks that hold at least one shape, sorted.
    public var stackNames: [String] { stacks.keys.sorted() }

    /// The handles of the stack's shapes, sorted (`ShapeHandle`'s order).
    public func handles(stack: String) -> [ShapeHandle] {
        (stacks[stack]?.handles).map { $0.sorted() } ?? []
    }

    /// The handles made for shapes with this hash (one, unless hashes collided or concurrent adds
    /// gave a shape two handles), sorted.
    public func handles(stack: String, hash: UInt64) -> [ShapeHandle] {
        (stacks[stack]?.byHash[hash]).map { $0.sorted() } ?? []
    }

    /// Whether the catalog lists `handle` in `stack`.
    public func contains(_ handle: ShapeHandle, stack: String) -> Bool {
        stacks[stack]?.handles.contains(handle) ?? false
    }

    /// The number of shapes of every stack.
    public var count: Int { stacks.values.reduce(0) { $0 + $1.handles.count } }
}
