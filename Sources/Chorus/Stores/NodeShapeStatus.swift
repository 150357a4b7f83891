import ChorusReplication
import ChorusStores
#if canImport(Glibc)
import Glibc
#endif

/// Shape status, replicated to every node (seed: Electric's `ShapeStatus`), per stack.
///
/// Handles are `"<hash>-<unix ms>"` with the hash over the whole shape; the latest offset only moves
/// forward, the snapshot xmin is set once, snapshot started is a flag of its own, and a removal
/// wins over a concurrent write (`ShapeStatus` has the rules). Reads come from memory; writes
/// return once committed on this node, with their LSN (nil when nothing had to be written). After
/// a restart, handles, xmins and latest offsets are back from disk.
public struct NodeShapeStatus: Sendable {
    let stores: NodeStores

    /// Adds the shape, or finds it: its handle, and the LSN of the write (nil when it was there).
    @discardableResult
    public func addShape(_ shape: Shape, stack: String) async throws(StoreError) -> (handle: ShapeHandle, lsn: LSN?) {
        let now = Self.unixMillis()
        var handle: ShapeHandle?
        let lsn = try await stores.write { replica, shapes throws(StoreError) in
            let added = try shapes.addShape(shape, stack: stack, nowMillis: now, in: &replica)
            handle = added.handle
            return added.dot
        }
        return (handle!, lsn)
    }

    /// The shape's handle and latest offset; nil when the stack does not hold it.
    public func getExistingShape(_ shape: Shape, stack: String) throws(StoreError) -> (handle: ShapeHandle, latestOffset: LogOffset)? {
        try stores.read { replica, shapes in shapes.getExistingShape(shape, stack: stack, in: replica) }
    }

    /// The handle's latest offset; nil when the stack holds no shape with it.
    public func getExistingShape(handle: ShapeHandle, stack: String) throws(StoreError) -> (handle: ShapeHandle, latestOffset: LogOffset)? {
        try stores.read { replica, shapes in shapes.getExistingShape(handle: handle, stack: stack, in: replica) }
    }

    /// The shape with `handle`; nil when the stack holds none.
    public func shape(handle: ShapeHandle, stack: String) throws(StoreError) -> Shape? {
        try stores.read { replica, shapes in
            shapes.listShapes(stack: stack, in: replica).first { $0.handle == handle }?.shape
        }
    }

    /// Every shape of the stack, sorted by handle.
    public func listShapes(stack: String) throws(StoreError) -> [(handle: ShapeHandle, shape: Shape)] {
        try stores.read { replica, shapes in shapes.listShapes(stack: stack, in: replica) }
    }

    /// Removes the shape and its fields; `unknownShape` when the stack holds none with this handle.
    @discardableResult
    public func removeShape(handle: ShapeHandle, stack: String) async throws(StoreError) -> (shape: Shape, lsn: LSN) {
        var removed: Shape?
        let lsn = try await stores.write { replica, shapes throws(StoreError) in
            let result = try shapes.removeShape(stack: stack, handle: handle, in: &replica)
            removed = result.shape
            return result.dot
        }
        return (removed!, lsn!)
    }

    /// Sets xmin and latest offset of a shape recovered from storage (by the rules of the setters).
    @discardableResult
    public func initialiseShape(handle: ShapeHandle, stack: String, snapshotXmin: Int64?, latestOffset: LogOffset)
        async throws(StoreError) -> LSN? {
        try await stores.write { replica, shapes throws(StoreError) in
            try shapes.initialiseShape(stack: stack, handle: handle, snapshotXmin: snapshotXmin, latestOffset: latestOffset, in: &replica)
        }
    }

    /// Moves the latest offset forward (never back). `unknownShape` when there is no such shape.
    @discardableResult
    public func setLatestOffset(_ offset: LogOffset, handle: ShapeHandle, stack: String) async throws(StoreError) -> ShapeFieldWrite {
        try await field(handle) { replica, shapes in shapes.setLatestOffset(offset, stack: stack, handle: handle, in: &replica) }
    }

    /// Sets the snapshot xmin once (a different later value is ignored and reported).
    @discardableResult
    public func setSnapshotXmin(_ xmin: Int64, handle: ShapeHandle, stack: String) async throws(StoreError) -> ShapeFieldWrite {
        try await field(handle) { replica, shapes in shapes.setSnapshotXmin(xmin, stack: stack, handle: handle, in: &replica) }
    }

    /// Records that the shape's snapshot started.
    @discardableResult
    public func markSnapshotStarted(handle: ShapeHandle, stack: String) async throws(StoreError) -> ShapeFieldWrite {
        try await field(handle) { replica, shapes in shapes.markSnapshotStarted(stack: stack, handle: handle, in: &replica) }
    }

    /// Whether the shape's snapshot started (false for an unknown handle, as the seed).
    public func snapshotStarted(handle: ShapeHandle, stack: String) throws(StoreError) -> Bool {
        try stores.read { replica, shapes in shapes.snapshotStarted(stack: stack, handle: handle, in: replica) }
    }

    /// The snapshot xmin, nil while unset; `unknownShape` for an unknown handle.
    public func snapshotXmin(handle: ShapeHandle, stack: String) throws(StoreError) -> Int64? {
        try stores.read { replica, shapes throws(StoreError) in try shapes.snapshotXmin(stack: stack, handle: handle, in: replica) }
    }

    /// The latest offset; `unknownShape` for an unknown handle.
    public func latestOffset(handle: ShapeHandle, stack: String) throws(StoreError) -> LogOffset {
        try stores.read { replica, shapes throws(StoreError) in try shapes.latestOffset(stack: stack, handle: handle, in: replica) }
    }

    /// Stacks that hold a shape, sorted.
    public func stacks() throws(StoreError) -> [String] {
        try stores.read { _, shapes in shapes.catalog.stackNames }
    }

    /// A field write: returns once its write (if any) is committed. An unknown shape throws.
    private func field(_ handle: ShapeHandle,
                       _ body: (inout ReplicationInstance<StoreKey, StoreValue>, ShapeStatus) -> ShapeFieldWrite)
        async throws(StoreError) -> ShapeFieldWrite {
        var outcome = ShapeFieldWrite.unknownShape
        _ = try await stores.write { replica, shapes throws(StoreError) in
            outcome = body(&replica, shapes)
            if outcome == .unknownShape { throw .unknownShape(handle: handle) }
            return outcome.dot
        }
        return outcome
    }

    private static func unixMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
