import ChorusReplication

/// What became of a write to one field of a shape. `isKnown` is the seed's boolean (`set_*`
/// return false on an unknown handle); `dot` the write's LSN, nil when nothing was written.
public enum ShapeFieldWrite: Hashable, Sendable {
    /// The stack holds no shape with this handle: nothing was written.
    case unknownShape
    /// The field was written.
    case written(Dot)
    /// The field already held what its rule keeps (the same value, a later offset, the flag):
    /// nothing had to be written.
    case unchanged
    /// The snapshot xmin is set once: it holds `kept`, a different value, which stays.
    case ignored(kept: Int64)

    public var isKnown: Bool { self != .unknownShape }

    public var dot: Dot? {
        if case let .written(dot) = self { dot } else { nil }
    }
}

/// The shapes of each stack and the state of each (seed: Electric's `ShapeStatus`). A stack is a
/// namespace, like Electric's stack id; each shape has four fields (`ShapeField`), each its own key.
///
/// Rules:
/// - A shape is **in the store** exactly while its definition field is. **Remove wins**: a field
///   that a write made concurrently with the removal brought back stays invisible, since the
///   definition is gone; reading it answers as for an unknown handle.
/// - **Handles**: a new shape gets `"<hash>-<now ms>"`; if a different shape holds that handle (a
///   hash collision, Electric #2778) it takes ms + 1, + 2, ... until free. A shape already in the
///   stack keeps its handle and nothing is written.
/// - **Lookup by shape** compares whole definitions, never the hash alone. When concurrent adds on
///   two nodes gave one shape two handles, the lowest (`ShapeHandle` order: by ms, then text) is its
///   handle on every node; the other stays listed and readable by handle until removed.
/// - **Read rules** for concurrent entries: latest offset = the highest (it never goes back,
///   Electric #2596), snapshot xmin = the lowest, snapshot started = set by any, definition = the
///   same on all by construction (should a collision in one millisecond on two nodes make them
///   differ, the lowest in UTF-8 byte order, on every node).
/// - **Writes**: the latest offset only moves forward (the highest of the new and the current one is
///   stored); the snapshot xmin is set once (a different later value is ignored and reported as
///   `ignored`); snapshot started is a flag of its own, apart from the xmin (Electric #1658), never
///   unset but by removal. Every write returns the dot of its last write, nil when nothing had to
///   be written.
///
/// The status owns the `ShapeCatalog` (derived, not replicated) that indexes the shapes by hash.
/// It updates it for its own writes; every other change of the replica (a peer's delta, a joined
/// snapshot) must be passed to `update(_:in:)`: the shell passes the keys the replication core
/// reports changed.
public struct ShapeStatus: Sendable {
    public private(set) var catalog: ShapeCatalog

    /// The status of an empty replica.
    public init() { catalog = ShapeCatalog() }

    /// The status of what `replica` holds (a node restarting from its disk).
    public init(of replica: some StoreReplica) { catalog = ShapeCatalog(of: replica) }

    /// Takes into account a change of `key` made in `replica` other than through this status.
    public mutating func update(_ key: StoreKey, in replica: some StoreReplica) {
        catalog.update(key, in: replica)
    }

    /// Takes into account changes of `keys` made in `replica` other than through this status.
    public mutating func update(_ keys: some Sequence<StoreKey>, in replica: some StoreReplica) {
        catalog.update(keys, in: replica)
    }

    // MARK: Shapes

    /// Adds `shape` to the stack at `nowMillis` (unix ms, at least 0), or finds it there: returns its
    /// handle and the dot of the last write (the definition's; nil when the shape was there). A new
    /// shape's latest offset is `LogOffset.first`, with no xmin and its snapshot not started.
    @discardableResult
    public mutating func addShape(_ shape: Shape, stack: String, nowMillis: Int64,
                                  in replica: inout some StoreReplica) throws(StoreError) -> (handle: ShapeHandle, dot: Dot?) {
        guard nowMillis >= 0 else { throw .invalidArgument("a shape's time \(nowMillis) is not a unix time in ms") }
        if let existing = getExistingShape(shape, stack: stack, in: replica) { return (existing.handle, nil) }
        var millis = nowMillis
        var handle = ShapeHandle(hash: shape.hash, millis: millis)
        while let holder = definition(stack, handle, in: replica) {
            if holder == shape { return (handle, nil) }
            guard millis < .max else { throw .invalidArgument("no free handle for the shape after \(nowMillis)") }
            millis += 1
            handle = ShapeHandle(hash: shape.hash, millis: millis)
        }
        let definitionKey = StoreKey.shape(stack: stack, handle: handle, field: .definition)
        try definitionKey.checked()
        try StoreValue.shape(shape).checked()
        // Fields a removed shape with this handle left (brought back by a concurrent write) go.
        for field in [ShapeField.snapshotXmin, .snapshotStarted] {
            let key = StoreKey.shape(stack: stack, handle: handle, field: field)
            if replica.entries(key) != nil { _ = replica.write(key, nil) }
        }
        _ = replica.write(.shape(stack: stack, handle: handle, field: .latestOffset), .offset(.first))
        // The definition last: its write is the one that makes the shape visible.
        let dot = replica.write(definitionKey, .shape(shape))
        catalog.update(definitionKey, in: replica)
        return (handle, dot)
    }

    /// The handle and latest offset of `shape` in the stack (its lowest handle, should it have two);
    /// nil when it is not there. Definitions are compared whole.
    public func getExistingShape(_ shape: Shape, stack: String,
                                 in replica: some StoreReplica) -> (handle: ShapeHandle, latestOffset: LogOffset)? {
        for handle in catalog.handles(stack: stack, hash: shape.hash) where definition(stack, handle, in: replica) == shape {
            return (handle, offset(stack, handle, in: replica))
        }
        return nil
    }

    /// The handle and latest offset of the shape with `handle`; nil when the stack holds none.
    public func getExistingShape(handle: ShapeHandle, stack: String,
                                 in replica: some StoreReplica) -> (handle: ShapeHandle, latestOffset: LogOffset)? {
        guard definition(stack, handle, in: replica) != nil else { return nil }
        return (handle, offset(stack, handle, in: replica))
    }

    /// Every shape of the stack with its handle, sorted by handle.
    public func listShapes(stack: String, in replica: some StoreReplica) -> [(handle: ShapeHandle, shape: Shape)] {
        catalog.handles(stack: stack).compactMap { handle in
            definition(stack, handle, in: replica).map { (handle, $0) }
        }
    }

    /// Removes the shape with `handle` and every field of it; returns the shape and the dot of the
    /// last write (the definition's removal).
    @discardableResult
    public mutating func removeShape(stack: String, handle: ShapeHandle,
                                     in replica: inout some StoreReplica) throws(StoreError) -> (shape: Shape, dot: Dot) {
        guard let shape = definition(stack, handle, in: replica) else { throw .unknownShape(handle: handle) }
        for field in [ShapeField.snapshotXmin, .snapshotStarted, .latestOffset] {
            let key = StoreKey.shape(stack: stack, handle: handle, field: field)
            if replica.entries(key) != nil { _ = replica.write(key, nil) }
        }
        let definitionKey = StoreKey.shape(stack: stack, handle: handle, field: .definition)
        let dot = replica.write(definitionKey, nil)
        catalog.update(definitionKey, in: replica)
        return (shape, dot)
    }

    // MARK: Fields

    /// Sets the xmin and the latest offset of a shape recovered from storage, by the rules of
    /// `setSnapshotXmin` (when `snapshotXmin` is not nil) and `setLatestOffset`. Returns the dot of
    /// the last write, nil when nothing had to be written.
    @discardableResult
    public func initialiseShape(stack: String, handle: ShapeHandle, snapshotXmin: Int64?, latestOffset: LogOffset,
                                in replica: inout some StoreReplica) throws(StoreError) -> Dot? {
        guard definition(stack, handle, in: replica) != nil else { throw .unknownShape(handle: handle) }
        let xmin = snapshotXmin.map { setSnapshotXmin($0, stack: stack, handle: handle, in: &replica) }
        let offset = setLatestOffset(latestOffset, stack: stack, handle: handle, in: &replica)
        return offset.dot ?? xmin?.dot
    }

    /// Moves the shape's latest offset to `offset`, never back: stores the highest of `offset` and
    /// the current one (`unchanged` when that is the current one, held alone).
    @discardableResult
    public func setLatestOffset(_ offset: LogOffset, stack: String, handle: ShapeHandle,
                                in replica: inout some StoreReplica) -> ShapeFieldWrite {
        guard definition(stack, handle, in: replica) != nil else { return .unknownShape }
        let key = StoreKey.shape(stack: stack, handle: handle, field: .latestOffset)
        let entries = replica.entries(key)
        let target = max(offset, entries.flatMap(highestOffset) ?? offset)
        if let entries, entries.count == 1, entries.first.value == .offset(target) { return .unchanged }
        return .written(replica.write(key, .offset(target)))
    }

    /// Sets the snapshot xmin, once: a different value after it is ignored (`ignored(kept:)`), the
    /// same one is `unchanged`.
    @discardableResult
    public func setSnapshotXmin(_ xmin: Int64, stack: String, handle: ShapeHandle,
                                in replica: inout some StoreReplica) -> ShapeFieldWrite {
        guard definition(stack, handle, in: replica) != nil else { return .unknownShape }
        let key = StoreKey.shape(stack: stack, handle: handle, field: .snapshotXmin)
        if let current = replica.entries(key).flatMap(lowestXmin) {
            return current == xmin ? .unchanged : .ignored(kept: current)
        }
        return .written(replica.write(key, .xmin(xmin)))
    }

    /// Records that the shape's snapshot started (a flag apart from the xmin).
    @discardableResult
    public func markSnapshotStarted(stack: String, handle: ShapeHandle,
                                    in replica: inout some StoreReplica) -> ShapeFieldWrite {
        guard definition(stack, handle, in: replica) != nil else { return .unknownShape }
        let key = StoreKey.shape(stack: stack, handle: handle, field: .snapshotStarted)
        if replica.entries(key) != nil { return .unchanged }
        return .written(replica.write(key, .marker))
    }

    /// Whether the shape's snapshot started; false for an unknown handle (as the seed's
    /// `snapshot_started?`).
    public func snapshotStarted(stack: String, handle: ShapeHandle, in replica: some StoreReplica) -> Bool {
        guard definition(stack, handle, in: replica) != nil else { return false }
        return replica.entries(.shape(stack: stack, handle: handle, field: .snapshotStarted))?.values
            .contains(.marker) ?? false
    }

    /// The shape's snapshot xmin (the lowest of concurrent ones); nil while none is set.
    public func snapshotXmin(stack: String, handle: ShapeHandle, in replica: some StoreReplica) throws(StoreError) -> Int64? {
        guard definition(stack, handle, in: replica) != nil else { throw .unknownShape(handle: handle) }
        return replica.entries(.shape(stack: stack, handle: handle, field: .snapshotXmin)).flatMap(lowestXmin)
    }

    /// The shape's latest offset (the highest of concurrent ones).
    public func latestOffset(stack: String, handle: ShapeHandle, in replica: some StoreReplica) throws(StoreError) -> LogOffset {
        guard definition(stack, handle, in: replica) != nil else { throw .unknownShape(handle: handle) }
        return offset(stack, handle, in: replica)
    }

    // MARK: Read rules

    /// The shape with `handle`, nil when its definition is not in the replica. Concurrent entries
    /// are the same shape by construction; should they differ, the lowest in UTF-8 byte order.
    private func definition(_ stack: String, _ handle: ShapeHandle, in replica: some StoreReplica) -> Shape? {
        guard let entries = replica.entries(.shape(stack: stack, handle: handle, field: .definition)) else { return nil }
        return entries.values.compactMap { if case let .shape(shape) = $0 { shape } else { nil } }
            .min { $0.definition.utf8.lexicographicallyPrecedes($1.definition.utf8) }
    }

    /// The latest offset of a shape that is in the store; `first` (a new shape's) while no entry
    /// has arrived yet (a peer's definition may arrive before its offset).
    private func offset(_ stack: String, _ handle: ShapeHandle, in replica: some StoreReplica) -> LogOffset {
        replica.entries(.shape(stack: stack, handle: handle, field: .latestOffset)).flatMap(highestOffset) ?? .first
    }

    private func highestOffset(_ entries: CausalEntries<StoreValue>) -> LogOffset? {
        entries.values.compactMap { if case let .offset(offset) = $0 { offset } else { nil } }.max()
    }

    private func lowestXmin(_ entries: CausalEntries<StoreValue>) -> Int64? {
        entries.values.compactMap { if case let .xmin(xmin) = $0 { xmin } else { nil } }.min()
    }
}
