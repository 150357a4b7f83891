import Chorus
import ChorusLoop
import ChorusTestSupport
import Testing

/// Injected faults (`debug_faults`) on the node-to-node links and the defects, with nodes in this
/// process over real sockets.
@Suite("Injected faults on links", .serialized, .timeLimit(.minutes(2)))
struct LinkFaultsTests {
    static let eventually = MembershipAPITests.eventually

    /// Nodes a and b with fault injection on, b seeded with a, once both see each other alive.
    static func pair() async throws -> (ClusterNode, ClusterNode) {
        let ports = try FreePorts.take(2)
        func node(_ name: String, _ port: UInt16, seeds: [UInt16]) throws -> ClusterNode {
            try ClusterNode(settings: NodeSettings(
                cluster: "link-faults", name: name, bind: try SocketAddress(host: "127.0.0.1", port: port),
                seeds: try seeds.map { try SocketAddress(host: "127.0.0.1", port: $0) },
                dataDir: try scratchDirectory(), profile: .local, debugFaults: true))
        }
        let a = try node("a", ports[0], seeds: [])
        let b = try node("b", ports[1], seeds: [ports[0]])
        try await a.start()
        try await b.start()
        for node in [a, b] {
            #expect(await Self.eventually(.seconds(10)) { await node.members().filter { $0.state.status == .alive }.count == 2 })
        }
        return (a, b)
    }

    @Test("given two linked nodes, when a drops everything from b, then b's store writes stop reaching a; when the faults are cleared, they arrive")
    func inboundDropCutsReplication() async throws {
        let (a, b) = try await Self.pair()
        try await b.epochs.initialize(client: "c")
        let before = try await b.epochs.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 1)
        #expect(try await a.lsnTracker().requestAndAwaitNotification(before, timeout: .seconds(10)) == .ready)
        // When
        try await a.setFaults(try InjectedFaults(dropInbound: ["b"]))
        let cut = try await b.epochs.put(client: "c", topic: "t", producer: "p", mode: .exclusive, epoch: 2)
        // Then: the link still stands, but what b sends over it never gets to a's replica
        #expect(try await a.lsnTracker().requestAndAwaitNotification(cut, timeout: .milliseconds(1500)) == .timeout)
        #expect(try a.epochs.get(client: "c", topic: "t", producer: "p", mode: .exclusive) == 1)
        // When the faults are cleared, anti-entropy brings the write
        try await a.setFaults(.none)
        #expect(try await a.lsnTracker().requestAndAwaitNotification(cut, timeout: .seconds(20)) == .ready)
        #expect(try a.epochs.get(client: "c", topic: "t", producer: "p", mode: .exclusive) == 2)
        await b.stop()
        await a.stop()
    }

    @Test("given two linked nodes, when b drops everything to a, then b's group joins stay unseen on a; when the faults are cleared, a sees them")
    func outboundDropCutsGroups() async throws {
        let (a, b) = try await Self.pair()
        // When
        try await b.setFaults(try InjectedFaults(dropOutbound: ["a"]))
        let worker = b.makeMember()
        try await b.join(scope: "jobs", group: "resize", worker)
        let lsn = try #require(try await b.epochs.initialize(client: "c"))
        // Then: the write goes over the same link as the join, after it, and never arrives
        #expect(try await a.lsnTracker().requestAndAwaitNotification(lsn, timeout: .milliseconds(1500)) == .timeout)
        #expect(await a.members(scope: "jobs", group: "resize") == [])
        // When the faults are cleared, both arrive
        try await b.setFaults(.none)
        #expect(await Self.eventually(.seconds(20)) { await a.members(scope: "jobs", group: "resize") == [worker.id] })
        #expect(try await a.lsnTracker().requestAndAwaitNotification(lsn, timeout: .seconds(20)) == .ready)
        await b.stop()
        await a.stop()
    }

    @Test("given the defect ack_without_delivery on b, when a broadcasts with ack to b's only emitter, then it is acknowledged and the member gets nothing; cleared, the member gets the next one")
    func ackWithoutDelivery() async throws {
        let (a, b) = try await Self.pair()
        let deliveries = EmitterTests.Deliveries()
        let emitter = EmitterTests.recordingMember(b, deliveries)
        try await b.joinEmitters(store: "orders", subscription: "billing", emitter)
        #expect(await Self.eventually(.seconds(10)) { await a.emitters(store: "orders", subscription: "billing") == [emitter.id] })
        // When
        try await b.setFaults(try InjectedFaults(defects: [.ackWithoutDelivery]))
        let lost = try await a.broadcastAcknowledged(store: "orders", subscription: "billing", event: EmitterTests.event("e-1"))
        // Then: b acks only after it would have handed the event over, so nothing can still be on its way
        #expect(lost == BroadcastReceipt(member: emitter.id, path: .remote))
        #expect(deliveries.count == 0)
        // When the defect is cleared
        try await b.setFaults(.none)
        try await a.broadcastAcknowledged(store: "orders", subscription: "billing", event: EmitterTests.event("e-2"))
        #expect(deliveries.all.map(\.id) == ["e-2"])
        await b.stop()
        await a.stop()
    }
}
