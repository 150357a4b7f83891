import ChorusReplication
import ChorusStores
import Testing

/// When each entity was last processed (seed: EventStreamex's process status and its adapters).
struct ProcessStatusTests {
    @Test("given an entity processed at a timestamp, when it is processed again at the same one, then nothing is written; at a later one, then it moves; at an earlier one, then it stays (unlike the seed's upsert)")
    func sameLaterEarlier() throws {
        var node = replica(1)
        #expect(try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 100, in: &node) != nil)
        #expect(try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 100, in: &node) == nil)
        #expect(try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 150, in: &node) != nil)
        #expect(ProcessStatus.lastProcessed(name: "n", entity: "items", in: node) == 150)
        #expect(try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 120, in: &node) == nil)
        #expect(ProcessStatus.lastProcessed(name: "n", entity: "items", in: node) == 150)
    }

    @Test("given an entity's last timestamp, then it is processed up to that timestamp and before, not after; an entity never processed is not")
    func processed() throws {
        var node = replica(1)
        try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 100, in: &node)
        #expect(ProcessStatus.processed(name: "n", entity: "items", timestamp: 99, in: node))
        #expect(ProcessStatus.processed(name: "n", entity: "items", timestamp: 100, in: node))
        #expect(!ProcessStatus.processed(name: "n", entity: "items", timestamp: 101, in: node))
        #expect(!ProcessStatus.processed(name: "n", entity: "users", timestamp: 0, in: node))
        #expect(ProcessStatus.lastProcessed(name: "n", entity: "users", in: node) == nil)
    }

    @Test("given items of two names, then loading one gives its own items sorted by entity")
    func load() throws {
        var node = replica(1)
        try ProcessStatus.itemProcessed(name: "n", entity: "users", timestamp: 2, in: &node)
        try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 1, in: &node)
        try ProcessStatus.itemProcessed(name: "other", entity: "accounts", timestamp: 3, in: &node)
        let loaded = ProcessStatus.load(name: "n", in: node)
        #expect(loaded.map(\.entity) == ["items", "users"] && loaded.map(\.timestamp) == [1, 2])
        #expect(ProcessStatus.load(name: "none", in: node).isEmpty)
    }

    @Test("given items of two names, when one is reset, then its items are gone, the other's stay, and a reset of nothing writes nothing")
    func reset() throws {
        var node = replica(1)
        try ProcessStatus.itemProcessed(name: "n", entity: "users", timestamp: 2, in: &node)
        try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 1, in: &node)
        try ProcessStatus.itemProcessed(name: "other", entity: "items", timestamp: 3, in: &node)
        #expect(ProcessStatus.reset(name: "n", in: &node) == Dot(origin: node.origin, sequence: node.sequence))
        #expect(ProcessStatus.load(name: "n", in: node).isEmpty)
        #expect(ProcessStatus.lastProcessed(name: "other", entity: "items", in: node) == 3)
        #expect(ProcessStatus.reset(name: "n", in: &node) == nil)
    }

    @Test("given two nodes processing one entity concurrently, when they exchange, then both read the highest timestamp")
    func concurrentConverge() throws {
        var a = replica(1), b = replica(2)
        try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 300, in: &a)
        try ProcessStatus.itemProcessed(name: "n", entity: "items", timestamp: 200, in: &b)
        exchange(&a, &b)
        #expect(a.state == b.state)
        #expect(ProcessStatus.lastProcessed(name: "n", entity: "items", in: a) == 300)
        #expect(ProcessStatus.lastProcessed(name: "n", entity: "items", in: b) == 300)
        #expect(ProcessStatus.load(name: "n", in: b).map(\.timestamp) == [300])
    }

    @Test("given the none adapter, then it keeps nothing: nothing is written, nothing loads, nothing was processed")
    func noneAdapter() throws {
        var adapter: some ProcessStatusAdapter = NoProcessStatus()
        #expect(try adapter.itemProcessed(name: "n", entity: "items", timestamp: 5) == nil)
        #expect(adapter.load(name: "n").isEmpty)
        #expect(adapter.lastProcessed(name: "n", entity: "items") == nil)
        #expect(!adapter.processed(name: "n", entity: "items", timestamp: 5))
        #expect(adapter.reset(name: "n") == nil)
    }

    @Test("given the adapter over a replica, then it follows the process status rules in that replica")
    func replicaAdapter() throws {
        var adapter = ReplicaProcessStatus(replica: replica(1))
        #expect(try adapter.itemProcessed(name: "n", entity: "items", timestamp: 5) != nil)
        try adapter.itemProcessed(name: "n", entity: "items", timestamp: 3)
        #expect(adapter.lastProcessed(name: "n", entity: "items") == 5)
        #expect(adapter.processed(name: "n", entity: "items", timestamp: 5))
        #expect(adapter.load(name: "n").map(\.entity) == ["items"])
        #expect(ProcessStatus.lastProcessed(name: "n", entity: "items", in: adapter.replica) == 5)
        #expect(adapter.reset(name: "n") != nil)
        #expect(adapter.load(name: "n").isEmpty)
    }
}
