import Chorus
import ChorusLoop
import ChorusTestSupport
import Synchronization
import Testing

/// reckon_db's emitter groups on Chorus nodes in this process.
@Suite("Emitter broadcast", .serialized, .timeLimit(.minutes(2)))
struct EmitterTests {
    static let eventually = MembershipAPITests.eventually

    static func event(_ id: String, data: [UInt8] = Array(repeating: 7, count: 200)) -> EmitterEvent {
        EmitterEvent(eventID: id, eventType: "OrderPlaced", streamID: "order-1", version: 1, data: data,
                     tags: ["eu"], timestamp: 1_700_000_000_000, epochMicros: 1_700_000_000_000_000)
    }

    /// Every event a set of handler members received: (member, event id, path).
    final class Deliveries: Sendable {
        private let log = Mutex<[(GroupMemberID, String, DeliveryPath)]>([])
        func record(_ member: GroupMemberID, _ message: GroupMessage) {
            if let event = message.event { log.withLock { $0.append((member, event.eventID, message.path)) } }
        }
        var all: [(member: GroupMemberID, id: String, path: DeliveryPath)] { log.withLock { $0.map { ($0.0, $0.1, $0.2) } } }
        var count: Int { log.withLock { $0.count } }
    }

    /// What acknowledged broadcasts came to.
    final class Outcomes: Sendable {
        let acked = Mutex<[String]>([])
        let failures = Mutex<[EmitterError]>([])
    }

    /// A member of `node` whose handler records into `deliveries`.
    static func recordingMember(_ node: ClusterNode, _ deliveries: Deliveries) -> GroupMember {
        let box = Mutex<GroupMemberID?>(nil)
        let member = node.makeMember { message in
            if let id = box.withLock({ $0 }) { deliveries.record(id, message) }
        }
        box.withLock { $0 = member.id }
        return member
    }

    @Test("given reckon_db's naming rules, topics, emitter names and persisted pools come out as reckon_db's")
    func names() throws {
        #expect(EmitterNames.topic(store: "orders", subscription: "billing") == "orders:billing")
        #expect(EmitterNames.topic(store: "orders", subscription: "$all") == "orders:$all")
        #expect(EmitterNames.emitterName(store: "orders", subscription: "billing") == "orders_billing_emitter")
        #expect(EmitterNames.emitterName(store: "orders", subscription: "billing", number: 3) == "orders_billing_emitter_3")
        #expect(EmitterNames.group(store: "a:b", subscription: "c") != EmitterNames.group(store: "a", subscription: "b:c"))
        for (store, subscription) in [("orders", "billing"), ("a:b", "c"), ("a", "b:c"), ("", ""), ("ノード", "$all"), ("x", ":emitters")] {
            #expect(EmitterNames.key(ofGroup: EmitterNames.group(store: store, subscription: subscription))
                    == EmitterKey(store: store, subscription: subscription), "\(store) / \(subscription) reads back")
        }
        for name in ["orders", "6:orders:billing", "7:orders:billing:emitters", "x:orders:b:emitters", ":a:b:emitters", "99:a:emitters"] {
            #expect(EmitterNames.key(ofGroup: name) == nil, "\(name) is no emitter group's name")
        }
        let registry = EmitterRegistry()
        #expect(registry.retrieveEmitters(store: "orders", subscription: "billing") == [])
        let pool = registry.persistEmitters(store: "orders", subscription: "billing", poolSize: 3)
        #expect(pool == ["orders_billing_emitter", "orders_billing_emitter_2", "orders_billing_emitter_3"])
        #expect(registry.retrieveEmitters(store: "orders", subscription: "billing") == pool)
        #expect(registry.persistEmitters(store: "orders", subscription: "x", poolSize: 1) == ["orders_x_emitter"])
        #expect(registry.retrieveEmitters(store: "orders", subscription: "billing") == pool, "another subscription's pool leaves it alone")
    }

    @Test("given an event beyond the wire's limits, both broadcasts refuse it and the node goes on; after stop, nodeStopped")
    func invalidEventsAndStoppedNode() async throws {
        let nodes = try await GroupsAPITests.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let remote = b.makeMember()
        try await b.joinEmitters(store: "s", subscription: "x", remote)
        #expect(await Self.eventually(.seconds(5)) { await a.emitters(store: "s", subscription: "x") == [remote.id] })
        let longID = EmitterEvent(eventID: String(repeating: "x", count: 1025), eventType: "t", streamID: "s")
        let manyTags = EmitterEvent(eventID: "e", eventType: "t", streamID: "s", tags: Array(repeating: "t", count: 1025))
        let huge = EmitterEvent(eventID: "e", eventType: "t", streamID: "s", data: Array(repeating: 0, count: WireLimits.maxFramePayload))
        for event in [longID, manyTags, huge] {
            #expect(throws: EmitterError.self) { try a.broadcast(store: "s", subscription: "x", event: event) }
            await #expect(throws: EmitterError.self) { try await a.broadcastAcknowledged(store: "s", subscription: "x", event: event) }
        }
        #expect(try a.broadcast(store: "s", subscription: "x", event: Self.event("fine")).path == .remote, "the node goes on")
        await #expect(throws: GroupsError.payloadTooLarge(bytes: GroupsLimits.maxPayload + 1)) {
            try await a.send(Array(repeating: 0, count: GroupsLimits.maxPayload + 1), to: remote.id)
        }
        // When
        await a.stop()
        // Then
        #expect(throws: EmitterError.nodeStopped) { try a.broadcast(store: "s", subscription: "x", event: Self.event("late")) }
        await #expect(throws: EmitterError.nodeStopped) { try await a.broadcastAcknowledged(store: "s", subscription: "x", event: Self.event("late")) }
        #expect(throws: GroupsError.nodeStopped) { try a.publish("t", [1]) }
        await b.stop()
    }

    @Test("given no emitter anywhere, both broadcasts say noEmitters")
    func noEmitters() async throws {
        let nodes = try await GroupsAPITests.cluster(2)
        #expect(throws: EmitterError.noEmitters) { try nodes[0].broadcast(store: "s", subscription: "x", event: Self.event("e")) }
        await #expect(throws: EmitterError.noEmitters) { try await nodes[0].broadcastAcknowledged(store: "s", subscription: "x", event: Self.event("e")) }
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given a local emitter, the event reaches it in-process with the very same payload buffer; a remote one gets it over the link")
    func localAndRemotePaths() async throws {
        let nodes = try await GroupsAPITests.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let local = a.makeMember()
        try await a.joinEmitters(store: "s", subscription: "x", local)
        let event = Self.event("e1")
        // When
        let receipt = try a.broadcast(store: "s", subscription: "x", event: event)
        // Then
        #expect(receipt == BroadcastReceipt(member: local.id, path: .local))
        var mailbox = local.messages.makeAsyncIterator()
        let got = try #require(await mailbox.next())
        #expect(got.event == event && got.path == .local && got.fromNode == a.uid)
        let sent = event.data.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let received = got.event!.data.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(sent == received, "no copy of the payload on the in-process path")
        // When: the only emitter is on the other node
        try await a.leaveEmitters(store: "s", subscription: "x", local)
        let remote = b.makeMember()
        try await b.joinEmitters(store: "s", subscription: "x", remote)
        #expect(await Self.eventually(.seconds(5)) { await a.emitters(store: "s", subscription: "x") == [remote.id] })
        let second = try a.broadcast(store: "s", subscription: "x", event: Self.event("e2"))
        #expect(second == BroadcastReceipt(member: remote.id, path: .remote))
        var remoteBox = remote.messages.makeAsyncIterator()
        let arrived = try #require(await remoteBox.next())
        #expect(arrived.event == Self.event("e2") && arrived.path == .remote && arrived.fromNode == a.uid)
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given 10 emitters on two nodes, one joined twice, 100,000 broadcasts pick them uniformly (chi-square below p = 10⁻⁶'s 44.81; the generator itself is held to p = 0.001 with fixed seeds in GroupDirectoryTests)")
    func uniformChoice() async throws {
        let nodes = try await GroupsAPITests.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let deliveries = Deliveries()
        let members = (0..<5).map { _ in Self.recordingMember(a, deliveries) } + (0..<5).map { _ in Self.recordingMember(b, deliveries) }
        for member in members[..<5] { try await a.joinEmitters(store: "s", subscription: "x", member) }
        for member in members[5...] { try await b.joinEmitters(store: "s", subscription: "x", member) }
        try await b.joinEmitters(store: "s", subscription: "x", members[9]) // twice: still one member
        #expect(await Self.eventually(.seconds(5)) { await a.emitters(store: "s", subscription: "x").count == 11 })
        // When
        let picks = 100_000
        var counts: [GroupMemberID: Int] = [:]
        let event = Self.event("u")
        for _ in 0..<picks { counts[try a.broadcast(store: "s", subscription: "x", event: event).member, default: 0] += 1 }
        // Then
        let expected = Double(picks) / 10
        let chiSquare = members.reduce(0.0) { sum, member in
            let observed = Double(counts[member.id] ?? 0)
            return sum + (observed - expected) * (observed - expected) / expected
        }
        print("uniformChoice: chi-square \(chiSquare) over 10 members (9 degrees of freedom; 44.81 is p = 10⁻⁶)")
        #expect(counts.count == 10)
        #expect(chiSquare < 44.81)
        #expect(await Self.eventually(.seconds(20)) { deliveries.count == picks }, "every pick was delivered, local or remote")
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given a burst of remote broadcasts far larger than a link holds (300,000 events, ~85 MB), every event arrives: the broadcaster waits for room")
    func burstIsFlowControlled() async throws {
        let nodes = try await GroupsAPITests.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let deliveries = Deliveries()
        let remote = Self.recordingMember(b, deliveries)
        try await b.joinEmitters(store: "s", subscription: "x", remote)
        #expect(await Self.eventually(.seconds(5)) { await a.emitters(store: "s", subscription: "x") == [remote.id] })
        // When
        let burst = 300_000
        let event = Self.event("burst")
        for _ in 0..<burst { try a.broadcast(store: "s", subscription: "x", event: event) }
        // Then
        #expect(await Self.eventually(.seconds(60)) { deliveries.count == burst }, "\(deliveries.count) of \(burst) arrived")
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given acknowledged broadcasts across three nodes and one node crashing in the middle, every acknowledged event reached a member")
    func acknowledgedSurvivesCrash() async throws {
        let nodes = try await GroupsAPITests.cluster(3)
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        let deliveries = Deliveries()
        let onB = Self.recordingMember(b, deliveries), onC = Self.recordingMember(c, deliveries)
        try await b.joinEmitters(store: "s", subscription: "x", onB)
        try await c.joinEmitters(store: "s", subscription: "x", onC)
        #expect(await Self.eventually(.seconds(5)) { await a.emitters(store: "s", subscription: "x").count == 2 })
        // When: 100,000 acknowledged broadcasts from a, 64 at a time; c stops (no leave) a third of the way
        let total = 100_000, lanes = 64
        let outcomes = Outcomes()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    for k in stride(from: lane, to: total, by: lanes) {
                        do throws(EmitterError) {
                            try await a.broadcastAcknowledged(store: "s", subscription: "x", event: Self.event("e\(k)"),
                                                              timeout: .seconds(10), attemptTimeout: .milliseconds(500))
                            outcomes.acked.withLock { $0.append("e\(k)") }
                        } catch {
                            outcomes.failures.withLock { $0.append(error) }
                        }
                        if k == total / 3 { await c.stop() }
                    }
                }
            }
            try await group.waitForAll()
        }
        // Then
        let delivered = Set(deliveries.all.map(\.id))
        let ackedIDs = outcomes.acked.withLock { $0 }
        let failed = outcomes.failures.withLock { $0.count }
        let lost = ackedIDs.filter { !delivered.contains($0) }
        let toC = deliveries.all.filter { $0.member == onC.id }.count
        print("acknowledgedSurvivesCrash: \(ackedIDs.count) acknowledged, \(failed) failed, \(deliveries.count) deliveries (\(toC) to the crashed node), \(lost.count) lost")
        #expect(toC > 0 && toC < total / 2, "the crash came in the middle of the stream")
        #expect(lost.isEmpty)
        #expect(ackedIDs.count + failed == total)
        #expect(ackedIDs.count > total * 9 / 10)
        await b.stop()
        await a.stop()
    }
}
