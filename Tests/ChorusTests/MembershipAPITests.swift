import Chorus
import ChorusLoop
import ChorusTestSupport
import ChorusWire
import Testing

/// The membership part of the embedding API, with two or three nodes in this process.
@Suite("ClusterNode membership API", .serialized, .timeLimit(.minutes(1)))
struct MembershipAPITests {
    static func node(_ name: String, port: UInt16, seeds: [UInt16] = [], swim: SWIMSettings? = nil) throws -> ClusterNode {
        try ClusterNode(settings: NodeSettings(
            cluster: "api", name: name, bind: try SocketAddress(host: "127.0.0.1", port: port),
            seeds: try seeds.map { try SocketAddress(host: "127.0.0.1", port: $0) },
            dataDir: try scratchDirectory(), profile: .local, swim: swim))
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(_ timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    static func statuses(_ node: ClusterNode) async -> [String: MemberStatus] {
        Dictionary(uniqueKeysWithValues: await node.members().map { ($0.id.name, $0.state.status) })
    }

    @Test("given two nodes, one seeded with the other, then each lists both alive, and a subscriber sees the join")
    func twoNodesJoin() async throws {
        let ports = try FreePorts.take(2)
        let a = try Self.node("a", port: ports[0])
        let b = try Self.node("b", port: ports[1], seeds: [ports[0]])
        let events = a.membershipEvents()
        try await a.start()
        try await b.start()
        #expect(await Self.eventually { await Self.statuses(a) == ["a": .alive, "b": .alive] })
        #expect(await Self.eventually { await Self.statuses(b) == ["a": .alive, "b": .alive] })
        var joined: Member?
        for await event in events {
            if case .joined(let member) = event { joined = member; break }
        }
        #expect(joined?.id == b.memberID)
        #expect(await a.members().map(\.id.name) == ["a", "b"], "sorted by name, self included")
        await b.stop()
        await a.stop()
    }

    @Test("given a node that leaves, then the other sees it left; a node that stops without leaving is dead")
    func leaveAndCrash() async throws {
        let ports = try FreePorts.take(3)
        let a = try Self.node("a", port: ports[0])
        let b = try Self.node("b", port: ports[1], seeds: [ports[0]])
        let c = try Self.node("c", port: ports[2], seeds: [ports[0]])
        for node in [a, b, c] { try await node.start() }
        #expect(await Self.eventually { await Self.statuses(a).values.filter { $0 == .alive }.count == 3 })
        await b.leave()
        #expect(await Self.eventually { await Self.statuses(a)["b"] == .left })
        await b.stop()
        await c.stop() // its sockets close: its port refuses, which is evidence of a crash
        #expect(await Self.eventually { await Self.statuses(a)["c"] == .dead })
        #expect(await Self.statuses(a)["b"] == .left, "a left member stays left")
        await a.stop()
    }

    @Test("given two subscribers, then each gets the events from its subscription on")
    func subscribersFromNowOn() async throws {
        let ports = try FreePorts.take(2)
        let a = try Self.node("a", port: ports[0])
        let b = try Self.node("b", port: ports[1], seeds: [ports[0]])
        let early = a.membershipEvents()
        try await a.start()
        try await b.start()
        #expect(await Self.eventually { await Self.statuses(a)["b"] == .alive })
        let late = a.membershipEvents()
        await b.leave()

        func names(until stop: (MembershipEvent) -> Bool, _ stream: AsyncStream<MembershipEvent>) async -> [String] {
            var seen: [String] = []
            for await event in stream {
                seen.append("\(event)".prefix { $0 != "(" } + ":" + event.member.id.name)
                if stop(event) { break }
            }
            return seen
        }
        let isLeft: (MembershipEvent) -> Bool = { if case .left = $0 { true } else { false } }
        let earlyEvents = await names(until: isLeft, early)
        let lateEvents = await names(until: isLeft, late)
        #expect(earlyEvents.first == "joined:b", "\(earlyEvents)")
        #expect(earlyEvents.last == "left:b", "\(earlyEvents)")
        #expect(lateEvents == ["left:b"], "the late subscriber sees only what happened after it subscribed")
        await b.stop()
        await a.stop()
    }

    @Test("given metadata over the limit, then updateMeta refuses it with the limit")
    func metaTooLarge() async throws {
        let a = try Self.node("a", port: try FreePorts.take(1)[0])
        try await a.start()
        await #expect(throws: MembershipError.metaTooLarge(bytes: 5000)) {
            try await a.updateMeta([UInt8](repeating: 1, count: 5000))
        }
        try await a.updateMeta(Array("ok".utf8))
        #expect(await a.members().first?.meta == Array("ok".utf8))
        await a.stop()
    }

    @Test("given a node without debugFaults, then setting faults is refused")
    func faultsRefused() async throws {
        let a = try Self.node("a", port: try FreePorts.take(1)[0])
        await #expect(throws: MembershipError.faultsDisabled) {
            try await a.setFaults(.none)
        }
        await a.stop()
    }
}
