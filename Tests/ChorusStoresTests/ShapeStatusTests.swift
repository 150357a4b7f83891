import ChorusReplication
@testable import ChorusStores
import Testing

/// Shapes of a stack and their state (seed: Electric's ShapeStatus and its tests).
struct ShapeStatusTests {
    let items = Shape(definition: #"{"root_table":"public.items"}"#)
    let users = Shape(definition: #"{"root_table":"public.users","where":"id > 10"}"#)

    @Test("given a new shape, when it is added, then its handle is its hash and the time, and it is found by shape and by handle at offset first, with no xmin and its snapshot not started")
    func addThenGet() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (handle, dot) = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        #expect(handle == ShapeHandle(hash: items.hash, millis: 1_000))
        #expect(dot == Dot(origin: node.origin, sequence: node.sequence))
        #expect(status.getExistingShape(items, stack: "s", in: node)?.handle == handle)
        #expect(status.getExistingShape(items, stack: "s", in: node)?.latestOffset == .first)
        #expect(status.getExistingShape(handle: handle, stack: "s", in: node)?.latestOffset == .first)
        #expect(try status.latestOffset(stack: "s", handle: handle, in: node) == .first)
        #expect(try status.snapshotXmin(stack: "s", handle: handle, in: node) == nil)
        #expect(!status.snapshotStarted(stack: "s", handle: handle, in: node))
    }

    @Test("given a shape in the stack, when it is added again later, then it keeps its handle and nothing is written")
    func addExisting() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let first = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        let sequence = node.sequence
        let again = try status.addShape(Shape(definition: items.definition), stack: "s", nowMillis: 2_000, in: &node)
        #expect(again.handle == first.handle && again.dot == nil && node.sequence == sequence)
    }

    @Test("given shapes that are not in the stack (another shape, another stack, an unknown handle), then lookups find nothing")
    func getUnknown() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (handle, _) = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        #expect(status.getExistingShape(users, stack: "s", in: node) == nil)
        #expect(status.getExistingShape(items, stack: "other", in: node) == nil)
        #expect(status.getExistingShape(handle: handle, stack: "other", in: node) == nil)
        #expect(status.getExistingShape(handle: ShapeHandle(hash: items.hash, millis: 999), stack: "s", in: node) == nil)
    }

    @Test("given a shape, when it is removed, then it is returned, lookups find nothing, its fields answer as for an unknown handle, and removing it again is an unknownShape error")
    func remove() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (handle, _) = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        status.setSnapshotXmin(7, stack: "s", handle: handle, in: &node)
        status.markSnapshotStarted(stack: "s", handle: handle, in: &node)
        let removed = try status.removeShape(stack: "s", handle: handle, in: &node)
        #expect(removed.shape == items && removed.dot == Dot(origin: node.origin, sequence: node.sequence))
        #expect(status.getExistingShape(items, stack: "s", in: node) == nil)
        #expect(status.getExistingShape(handle: handle, stack: "s", in: node) == nil)
        #expect(status.listShapes(stack: "s", in: node).isEmpty)
        #expect(node.state.keyCount == 0, "every field went")
        #expect(throws: StoreError.unknownShape(handle: handle)) { try status.removeShape(stack: "s", handle: handle, in: &node) }
        #expect(throws: StoreError.unknownShape(handle: handle)) { try status.latestOffset(stack: "s", handle: handle, in: node) }
        #expect(throws: StoreError.unknownShape(handle: handle)) { try status.snapshotXmin(stack: "s", handle: handle, in: node) }
        #expect(!status.snapshotStarted(stack: "s", handle: handle, in: node))
    }

    @Test("given a shape, when its latest offset is set forward, then it moves; when set back, then it stays and nothing is written; for an unknown handle it is false")
    func latestOffset() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (handle, _) = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        let forward = status.setLatestOffset(LogOffset(txOffset: 10, opOffset: 2), stack: "s", handle: handle, in: &node)
        #expect(forward.isKnown && forward.dot != nil)
        #expect(try status.latestOffset(stack: "s", handle: handle, in: node) == LogOffset(txOffset: 10, opOffset: 2))
        #expect(status.getExistingShape(items, stack: "s", in: node)?.latestOffset == LogOffset(txOffset: 10, opOffset: 2))
        #expect(status.setLatestOffset(LogOffset(txOffset: 9, opOffset: 99), stack: "s", handle: handle, in: &node) == .unchanged)
        #expect(status.setLatestOffset(LogOffset(txOffset: 10, opOffset: 2), stack: "s", handle: handle, in: &node) == .unchanged)
        #expect(try status.latestOffset(stack: "s", handle: handle, in: node) == LogOffset(txOffset: 10, opOffset: 2))
        let unknown = status.setLatestOffset(.last, stack: "s", handle: ShapeHandle(hash: 1, millis: 1), in: &node)
        #expect(unknown == .unknownShape && !unknown.isKnown && unknown.dot == nil)
    }

    @Test("given a shape, when its snapshot xmin is set, then it is kept; a different later value is ignored and reported, the same one is unchanged")
    func xminSetOnce() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (handle, _) = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        #expect(status.setSnapshotXmin(100, stack: "s", handle: handle, in: &node).dot != nil)
        #expect(status.setSnapshotXmin(200, stack: "s", handle: handle, in: &node) == .ignored(kept: 100))
        #expect(status.setSnapshotXmin(100, stack: "s", handle: handle, in: &node) == .unchanged)
        #expect(try status.snapshotXmin(stack: "s", handle: handle, in: node) == 100)
        #expect(status.setSnapshotXmin(1, stack: "s", handle: ShapeHandle(hash: 1, millis: 1), in: &node) == .unknownShape)
    }

    @Test("given a shape, then setting its xmin does not start its snapshot, and starting its snapshot sets no xmin (separate, Electric #1658)")
    func snapshotStartedApartFromXmin() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (withXmin, _) = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        let (started, _) = try status.addShape(users, stack: "s", nowMillis: 1_000, in: &node)
        status.setSnapshotXmin(5, stack: "s", handle: withXmin, in: &node)
        #expect(!status.snapshotStarted(stack: "s", handle: withXmin, in: node))
        #expect(status.markSnapshotStarted(stack: "s", handle: started, in: &node).dot != nil)
        #expect(status.snapshotStarted(stack: "s", handle: started, in: node))
        #expect(try status.snapshotXmin(stack: "s", handle: started, in: node) == nil)
        #expect(status.markSnapshotStarted(stack: "s", handle: started, in: &node) == .unchanged)
        #expect(status.markSnapshotStarted(stack: "s", handle: ShapeHandle(hash: 1, millis: 1), in: &node) == .unknownShape)
    }

    @Test("given a shape recovered from storage, when it is initialised with an xmin and an offset, then both are set by their rules")
    func initialise() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (handle, _) = try status.addShape(items, stack: "s", nowMillis: 1_000, in: &node)
        let dot = try status.initialiseShape(stack: "s", handle: handle, snapshotXmin: 42, latestOffset: LogOffset(txOffset: 3, opOffset: 1), in: &node)
        #expect(dot == Dot(origin: node.origin, sequence: node.sequence))
        #expect(try status.snapshotXmin(stack: "s", handle: handle, in: node) == 42)
        #expect(try status.latestOffset(stack: "s", handle: handle, in: node) == LogOffset(txOffset: 3, opOffset: 1))
        #expect(try status.initialiseShape(stack: "s", handle: handle, snapshotXmin: nil, latestOffset: .first, in: &node) == nil)
        #expect(throws: StoreError.unknownShape(handle: ShapeHandle(hash: 1, millis: 1))) {
            try status.initialiseShape(stack: "s", handle: ShapeHandle(hash: 1, millis: 1), snapshotXmin: nil, latestOffset: .first, in: &node)
        }
    }

    @Test("given shapes in two stacks, then each stack lists its own, sorted by handle")
    func list() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let late = try status.addShape(items, stack: "s", nowMillis: 2_000, in: &node).handle
        let early = try status.addShape(users, stack: "s", nowMillis: 1_000, in: &node).handle
        let elsewhere = try status.addShape(items, stack: "t", nowMillis: 1_500, in: &node).handle
        let listed = status.listShapes(stack: "s", in: node)
        #expect(listed.map(\.handle) == [early, late])
        #expect(listed.map(\.shape) == [users, items])
        #expect(status.listShapes(stack: "t", in: node).map(\.handle) == [elsewhere])
        #expect(status.listShapes(stack: "none", in: node).isEmpty)
    }

    @Test("given a negative time or a definition over the limit, then adding is an invalidArgument error and nothing is written")
    func invalidAdd() {
        var node = replica(1)
        var status = ShapeStatus()
        #expect(throws: StoreError.invalidArgument("a shape's time -1 is not a unix time in ms")) {
            try status.addShape(items, stack: "s", nowMillis: -1, in: &node)
        }
        #expect {
            try status.addShape(Shape(definition: String(repeating: "x", count: Shape.maxDefinitionBytes + 1)),
                                stack: "s", nowMillis: 1, in: &node)
        } throws: { error in
            if case .invalidArgument = error as? StoreError { true } else { false }
        }
        #expect(node.sequence == 0)
    }

    // MARK: Hash collisions (Electric #2778)

    @Test("given two different shapes with the same hash added in the same millisecond, then they get two handles, and lookups by shape or handle never mix them")
    func collision() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let a = Shape(definition: "a", hash: 0xC011_1DE5)
        let b = Shape(definition: "b", hash: 0xC011_1DE5)
        let c = Shape(definition: "c", hash: 0xC011_1DE5)
        let handleA = try status.addShape(a, stack: "s", nowMillis: 1_000, in: &node).handle
        let handleB = try status.addShape(b, stack: "s", nowMillis: 1_000, in: &node).handle
        let handleC = try status.addShape(c, stack: "s", nowMillis: 1_000, in: &node).handle
        #expect(handleA.millis == 1_000 && handleB.millis == 1_001 && handleC.millis == 1_002)
        #expect(Set([handleA, handleB, handleC]).count == 3)
        #expect(status.getExistingShape(a, stack: "s", in: node)?.handle == handleA)
        #expect(status.getExistingShape(b, stack: "s", in: node)?.handle == handleB)
        #expect(status.getExistingShape(c, stack: "s", in: node)?.handle == handleC)
        status.setLatestOffset(LogOffset(txOffset: 7, opOffset: 0), stack: "s", handle: handleB, in: &node)
        #expect(status.getExistingShape(a, stack: "s", in: node)?.latestOffset == .first)
        #expect(status.getExistingShape(b, stack: "s", in: node)?.latestOffset == LogOffset(txOffset: 7, opOffset: 0))
        #expect(try status.removeShape(stack: "s", handle: handleA, in: &node).shape == a)
        #expect(status.getExistingShape(a, stack: "s", in: node) == nil)
        #expect(status.getExistingShape(b, stack: "s", in: node)?.handle == handleB)
        // Added again after its removal, `a` gets its first handle back (free now) with a new log.
        let again = try status.addShape(a, stack: "s", nowMillis: 1_000, in: &node)
        #expect(again.handle == handleA && again.dot != nil)
        #expect(try status.latestOffset(stack: "s", handle: handleA, in: node) == .first)
    }

    @Test("given a shape with a colliding hash not in the stack, then lookup by shape finds nothing (definitions are compared whole)")
    func collisionLookupComparesDefinitions() throws {
        var node = replica(1)
        var status = ShapeStatus()
        try status.addShape(Shape(definition: "a", hash: 9), stack: "s", nowMillis: 1, in: &node)
        #expect(status.getExistingShape(Shape(definition: "b", hash: 9), stack: "s", in: node) == nil)
    }

    // MARK: Catalog

    @Test("given a replica with shapes, then the catalog rebuilt from it equals the one the status kept up to date")
    func catalogRebuilt() throws {
        var node = replica(1)
        var status = ShapeStatus()
        let (handle, _) = try status.addShape(items, stack: "s", nowMillis: 1, in: &node)
        try status.addShape(users, stack: "s", nowMillis: 2, in: &node)
        try status.addShape(items, stack: "t", nowMillis: 3, in: &node)
        try status.removeShape(stack: "s", handle: handle, in: &node)
        #expect(ShapeStatus(of: node).catalog == status.catalog)
        #expect(status.catalog.count == 2 && status.catalog.stackNames == ["s", "t"])
    }

    // MARK: Concurrency

    @Test("given two nodes setting a shape's latest offset concurrently, when they exchange, then both read the highest")
    func concurrentOffsetsConverge() throws {
        var a = replica(1), b = replica(2)
        var statusA = ShapeStatus(), statusB = ShapeStatus()
        let (handle, _) = try statusA.addShape(items, stack: "s", nowMillis: 1, in: &a)
        statusB.update(exchange(&a, &b).b, in: b)
        statusA.setLatestOffset(LogOffset(txOffset: 5, opOffset: 9), stack: "s", handle: handle, in: &a)
        statusB.setLatestOffset(LogOffset(txOffset: 6, opOffset: 0), stack: "s", handle: handle, in: &b)
        let changed = exchange(&a, &b)
        statusA.update(changed.a, in: a)
        statusB.update(changed.b, in: b)
        #expect(a.state == b.state)
        for (status, node) in [(statusA, a), (statusB, b)] {
            #expect(try status.latestOffset(stack: "s", handle: handle, in: node) == LogOffset(txOffset: 6, opOffset: 0))
        }
    }

    @Test("given a shape removed on one node while its offset is set on another, when they exchange, then it is gone on both (remove wins)")
    func concurrentRemoveAndOffset() throws {
        var a = replica(1), b = replica(2)
        var statusA = ShapeStatus(), statusB = ShapeStatus()
        let (handle, _) = try statusA.addShape(items, stack: "s", nowMillis: 1, in: &a)
        statusB.update(exchange(&a, &b).b, in: b)
        try statusA.removeShape(stack: "s", handle: handle, in: &a)
        #expect(statusB.setLatestOffset(LogOffset(txOffset: 8, opOffset: 0), stack: "s", handle: handle, in: &b).dot != nil)
        let changed = exchange(&a, &b)
        statusA.update(changed.a, in: a)
        statusB.update(changed.b, in: b)
        #expect(a.state == b.state)
        for (status, node) in [(statusA, a), (statusB, b)] {
            #expect(status.getExistingShape(items, stack: "s", in: node) == nil)
            #expect(status.getExistingShape(handle: handle, stack: "s", in: node) == nil)
            #expect(status.listShapes(stack: "s", in: node).isEmpty)
            #expect(throws: StoreError.unknownShape(handle: handle)) { try status.latestOffset(stack: "s", handle: handle, in: node) }
            #expect(status.catalog.count == 0)
        }
    }

    @Test("given one shape added concurrently on two nodes at different times, when they exchange, then both answer the same, lowest handle, and adding it again finds it")
    func concurrentAddsAgree() throws {
        var a = replica(1), b = replica(2)
        var statusA = ShapeStatus(), statusB = ShapeStatus()
        let handleA = try statusA.addShape(items, stack: "s", nowMillis: 2_000, in: &a).handle
        let handleB = try statusB.addShape(items, stack: "s", nowMillis: 1_000, in: &b).handle
        #expect(handleA != handleB)
        let changed = exchange(&a, &b)
        statusA.update(changed.a, in: a)
        statusB.update(changed.b, in: b)
        #expect(statusA.getExistingShape(items, stack: "s", in: a)?.handle == handleB)
        #expect(statusB.getExistingShape(items, stack: "s", in: b)?.handle == handleB)
        let again = try statusA.addShape(items, stack: "s", nowMillis: 3_000, in: &a)
        #expect(again.handle == handleB && again.dot == nil)
        // The other handle still answers for clients that were given it.
        #expect(statusA.getExistingShape(handle: handleA, stack: "s", in: a)?.handle == handleA)
        #expect(statusA.catalog == ShapeStatus(of: a).catalog && statusB.catalog == ShapeStatus(of: b).catalog)
    }
}
