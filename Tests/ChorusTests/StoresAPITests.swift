import Chorus
import ChorusLoop
import Foundation
import ChorusTestSupport
import Testing

/// The stores part of the embedding API, with nodes in this process over real sockets.
@Suite("ClusterNode stores API", .serialized, .timeLimit(.minutes(2)))
struct StoresAPITests {
    static let eventually = MembershipAPITests.eventually

    @Test("given three nodes, when an epoch is put on a, then c awaits its LSN and reads it; a lower put keeps the higher epoch everywhere")
    func readYourWritesAnywhere() async throws {
        let nodes = try await GroupsAPITests.cluster(3)
        let (a, c) = (nodes[0], nodes[2])
        try await a.epochs.initialize(client: "pulsar-1")
        // When
        let lsn = try await a.epochs.put(client: "pulsar-1", topic: "t", producer: "p", mode: .exclusive, epoch: 5)
        // Then
        let outcome = try await c.lsnTracker().requestAndAwaitNotification(lsn)
        #expect(outcome == .ready)
        #expect(try c.epochs.get(client: "pulsar-1", topic: "t", producer: "p", mode: .exclusive) == 5)
        let lower = try await c.epochs.put(client: "pulsar-1", topic: "t", producer: "p", mode: .exclusive, epoch: 3)
        #expect(try await a.lsnTracker(named: "other").requestAndAwaitNotification(lower) == .ready)
        #expect(try a.epochs.get(client: "pulsar-1", topic: "t", producer: "p", mode: .exclusive) == 5)
        #expect(try a.epochs.isFenced(client: "pulsar-1", topic: "t", producer: "p", mode: .exclusive, epoch: 4))
        // A client never started is an error value, not a crash.
        #expect(throws: StoreError.clientNotStarted(client: "nobody")) {
            try c.epochs.get(client: "nobody", topic: "t", producer: "p", mode: .shared)
        }
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given an LSN no node wrote, then awaiting it times out after the timeout, and replicated is false")
    func awaitTimesOut() async throws {
        let nodes = try await GroupsAPITests.cluster(1)
        let tracker = nodes[0].lsnTracker()
        let never = LSN(origin: NodeUID(rawValue: 42), sequence: 7)
        let started = ContinuousClock.now
        #expect(try await tracker.requestAndAwaitNotification(never, timeout: .milliseconds(200)) == .timeout)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(try tracker.replicated(never) == false)
        await nodes[0].stop()
    }

    @Test("given a node with shapes, process status and epochs, when it stops and starts again on the same data_dir, then everything is back and the new run writes on")
    func restartRestores() async throws {
        let directory = try scratchDirectory()
        let port = try FreePorts.take(1)[0]
        func start() async throws -> ClusterNode {
            let node = try ClusterNode(settings: NodeSettings(cluster: "stores", name: "solo", bind: try SocketAddress("127.0.0.1:\(port)"),
                                                              dataDir: directory, profile: .local))
            try await node.start()
            return node
        }
        var node = try await start()
        try await node.epochs.initialize(client: "c")
        try await node.epochs.put(client: "c", topic: "t", producer: "p", mode: .shared, epoch: 9)
        let (handle, _) = try await node.shapes.addShape(Shape(definition: #"{"table":"items"}"#), stack: "s1")
        try await node.shapes.setSnapshotXmin(100, handle: handle, stack: "s1")
        try await node.shapes.setLatestOffset(LogOffset(txOffset: 7, opOffset: 2), handle: handle, stack: "s1")
        try await node.processStatus(named: "ops").itemProcessed(entity: "users", timestamp: 1_000)
        try await node.processStatus(named: "ops", keeping: .durable).itemProcessed(entity: "orders", timestamp: 5)
        let firstRun = node.uid
        await node.stop()
        // When
        node = try await start()
        // Then
        #expect(node.uid != firstRun)
        #expect(try node.epochs.get(client: "c", topic: "t", producer: "p", mode: .shared) == 9)
        #expect(try node.shapes.getExistingShape(Shape(definition: #"{"table":"items"}"#), stack: "s1")?.handle == handle)
        #expect(try node.shapes.snapshotXmin(handle: handle, stack: "s1") == 100)
        #expect(try node.shapes.latestOffset(handle: handle, stack: "s1") == LogOffset(txOffset: 7, opOffset: 2))
        #expect(try node.processStatus(named: "ops").lastProcessed(entity: "users") == 1_000)
        #expect(try node.processStatus(named: "ops", keeping: .durable).load().map(\.entity) == ["orders"])
        #expect(try node.processStatus(named: "ops", keeping: .durable).lastProcessed(entity: "users") == nil)
        let next = try await node.epochs.put(client: "c", topic: "t", producer: "p", mode: .shared, epoch: 10)
        #expect(next.origin == node.uid && next.sequence == 1)
        await node.stop()
    }

    @Test("given a journal folded into rows every 10 records, when 500 epochs are put, some overwritten and some deleted, then a restart reads back exactly what the node held")
    func journalFoldsSurviveRestart() async throws {
        let directory = try scratchDirectory()
        let port = try FreePorts.take(1)[0]
        func start() async throws -> ClusterNode {
            var settings = NodeSettings(cluster: "stores", name: "solo", bind: try SocketAddress("127.0.0.1:\(port)"),
                                        dataDir: directory, profile: .local)
            settings.storeCompactionRecords = 10
            let node = try ClusterNode(settings: settings)
            try await node.start()
            return node
        }
        var node = try await start()
        try await node.epochs.initialize(client: "c")
        var expected: [Int: UInt64] = [:]
        // When: writers in parallel, so that commits hold many keys, folds come between them
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask { [node] in
                    for key in stride(from: lane, to: 500, by: 8) {
                        try await node.epochs.put(client: "c", topic: "t\(key)", producer: "p", mode: .shared, epoch: UInt64(key))
                        if key % 3 == 0 { try await node.epochs.put(client: "c", topic: "t\(key)", producer: "p", mode: .shared, epoch: UInt64(key) + 1_000) }
                        if key % 7 == 0 { try await node.epochs.delete(client: "c", topic: "t\(key)", producer: "p", mode: .shared) }
                    }
                }
            }
            try await group.waitForAll()
        }
        for key in 0..<500 where key % 7 != 0 { expected[key] = key % 3 == 0 ? UInt64(key) + 1_000 : UInt64(key) }
        await node.stop()
        node = try await start()
        // Then
        var restored: [Int: UInt64] = [:]
        for key in 0..<500 {
            restored[key] = try node.epochs.get(client: "c", topic: "t\(key)", producer: "p", mode: .shared)
        }
        #expect(restored == expected)
        #expect(node.storeFigures()?.restoredKeys == expected.count + 1, "the epochs and the client's marker")
        await node.stop()
    }

    @Test("given a data_dir of another cluster, then start fails with a clear error and the file is left as it was")
    func foreignDataDirRefused() async throws {
        let directory = try scratchDirectory()
        let ports = try FreePorts.take(2)
        let first = try ClusterNode(settings: NodeSettings(cluster: "one", name: "n", bind: try SocketAddress("127.0.0.1:\(ports[0])"),
                                                           dataDir: directory, profile: .local))
        try await first.start()
        try await first.epochs.initialize(client: "c")
        await first.stop()
        let file = directory + "/chorus.sqlite3"
        let before = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        let bytes = FileManager.default.contents(atPath: file)
        let other = try ClusterNode(settings: NodeSettings(cluster: "two", name: "n", bind: try SocketAddress("127.0.0.1:\(ports[1])"),
                                                           dataDir: directory, profile: .local))
        // When / Then
        await #expect { try await other.start() } throws: { error in
            "\(error)".contains("cluster \"one\"") && "\(error)".contains("move it away or point data_dir elsewhere")
        }
        #expect(throws: StoreError.nodeNotStarted) { try other.epochs.isStarted(client: "c") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == before)
        #expect(FileManager.default.contents(atPath: file) == bytes)
    }
}
