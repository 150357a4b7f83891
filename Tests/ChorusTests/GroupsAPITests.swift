import Chorus
import ChorusLoop
import ChorusTestSupport
import ChorusWire
import Foundation
import Synchronization
import Testing

/// The groups part of the embedding API, with nodes in this process over real sockets.
@Suite("ClusterNode groups API", .serialized, .timeLimit(.minutes(1)))
struct GroupsAPITests {
    static let node = MembershipAPITests.node
    static let eventually = MembershipAPITests.eventually

    /// Started nodes a, b, ... seeded with the first, once every node sees all alive.
    static func cluster(_ count: Int) async throws -> [ClusterNode] {
        let ports = try FreePorts.take(count)
        var nodes: [ClusterNode] = []
        for (index, port) in ports.enumerated() {
            let node = try Self.node(String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index))), port, index == 0 ? [] : [ports[0]], nil)
            try await node.start()
            nodes.append(node)
        }
        for node in nodes {
            #expect(await Self.eventually(.seconds(10)) { await node.members().filter { $0.state.status == .alive }.count == count })
        }
        return nodes
    }

    @Test("given two nodes, a member joined twice on one is listed twice on the other, and a leave is seen")
    func joinSeenRemotely() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let worker = a.makeMember()
        // When
        try await a.join(scope: "jobs", group: "resize", worker, worker)
        // Then
        #expect(await Self.eventually(.seconds(5)) { await b.members(scope: "jobs", group: "resize") == [worker.id, worker.id] })
        #expect(await b.localMembers(scope: "jobs", group: "resize") == [])
        #expect(await a.whichLocalGroups(scope: "jobs") == ["resize"])
        #expect(await b.whichGroups(scope: "jobs") == ["resize"])
        try await a.leave(scope: "jobs", group: "resize", worker, worker)
        #expect(await Self.eventually(.seconds(5)) { await b.whichGroups(scope: "jobs") == [] })
        await b.stop()
        await a.stop()
    }

    @Test("given a task on a node's data loop, its join applies at once: its next broadcast, read and leave see it, the peer sees it, and it may stop the node")
    func taskOnTheDataLoop() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let group = EmitterNames.group(store: "s", subscription: "sub")
        let (_, watching) = await b.monitor(scope: EmitterNames.scope, group: group)
        let delivered = Mutex<[DeliveryPath]>([])
        let loop = try #require(a.dataLoopExecutor as? EventLoop)
        // When
        let outcome = try await Task(executorPreference: a.dataLoopExecutor) {
            () throws -> (onLoop: Bool, receipt: BroadcastReceipt, joined: [GroupMemberID], left: [GroupMemberID], member: GroupMemberID) in
            let emitter = a.makeMember { message in delivered.withLock { $0.append(message.path) } }
            try await a.joinEmitters(store: "s", subscription: "sub", emitter)
            let receipt = try a.broadcast(store: "s", subscription: "sub", event: EmitterEvent(eventID: "e1", eventType: "t", streamID: "x"))
            let joined = await a.emitters(store: "s", subscription: "sub")
            try await a.leaveEmitters(store: "s", subscription: "sub", emitter)
            let left = await a.emitters(store: "s", subscription: "sub")
            return (loop.inLoop, receipt, joined, left, emitter.id)
        }.value
        // Then
        #expect(outcome.onLoop, "the task ran on the data loop's thread")
        #expect(outcome.receipt == BroadcastReceipt(member: outcome.member, path: .local), "the broadcast right after the join found its member")
        #expect(outcome.joined == [outcome.member] && outcome.left == [])
        #expect(delivered.withLock { $0 } == [.local])
        var changes = watching.makeAsyncIterator()
        let first = await changes.next(), second = await changes.next()
        #expect(first == GroupNotification(.join, scope: EmitterNames.scope, group: group, members: [outcome.member]))
        #expect(second == GroupNotification(.leave, scope: EmitterNames.scope, group: group, members: [outcome.member]))
        let stopped = await Task(executorPreference: a.dataLoopExecutor) { () async -> Bool in
            await a.stop()
            return true
        }.value
        #expect(stopped, "stop from a task on the data loop returns")
        await b.stop()
    }

    @Test("given a member made on another thread while the data loop is busy, a join from the loop that overtakes its registration still joins it")
    func loopJoinOvertakesRegistration() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let delivered = Mutex<Int>(0)
        // When: within one step of a loop task, another thread makes the member (its registration
        // queues behind this step) and the task joins it at once
        let (kept, receipt) = try await Task(executorPreference: a.dataLoopExecutor) { () throws -> (GroupMember, BroadcastReceipt) in
            let made = Mutex<GroupMember?>(nil)
            let maker = Thread { made.withLock { $0 = a.makeMember { _ in delivered.withLock { $0 += 1 } } } }
            maker.start()
            var member: GroupMember?
            while member == nil {
                member = made.withLock { $0 }
                if member == nil { usleep(100) }
            }
            try await a.joinEmitters(store: "s", subscription: "sub", member!)
            let receipt = try a.broadcast(store: "s", subscription: "sub", event: EmitterEvent(eventID: "e1", eventType: "t", streamID: "x"))
            return (member!, receipt)
        }.value
        let member = kept.id
        // Then
        #expect(receipt == BroadcastReceipt(member: member, path: .local))
        #expect(delivered.withLock { $0 } == 1)
        #expect(await Self.eventually(.seconds(5)) { await b.emitters(store: "s", subscription: "sub") == [member] })
        withExtendedLifetime(kept) {}
        await b.stop()
        await a.stop()
    }

    @Test("given a member of another node, join refuses it; leave of a member not joined says notJoined")
    func refusals() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let theirs = b.makeMember()
        await #expect(throws: GroupsError.notLocal(theirs.id)) { try await a.join(scope: "s", group: "g", members: [theirs.id]) }
        let mine = a.makeMember()
        await #expect(throws: GroupsError.notJoined) { try await a.leave(scope: "s", group: "g", mine) }
        mine.terminate()
        await #expect(throws: GroupsError.memberEnded(mine.id)) { try await a.join(scope: "s", group: "g", mine) }
        await b.stop()
        await a.stop()
    }

    @Test("given a member released or whose mailbox reader is cancelled, it leaves every group everywhere")
    func endedMembersLeave() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        var released: GroupMember? = a.makeMember()
        let releasedID = released!.id
        try await a.join(scope: "s", group: "g1", released!)
        let reader = a.makeMember()
        try await a.join(scope: "s", group: "g2", reader)
        #expect(await Self.eventually(.seconds(5)) { await b.whichGroups(scope: "s") == ["g1", "g2"] })
        // When
        released = nil
        let task = Task { for await _ in reader.messages {} }
        task.cancel()
        // Then
        #expect(await Self.eventually(.seconds(5)) { await b.whichGroups(scope: "s") == [] })
        #expect(await a.members(scope: "s", group: "g1") == [], "\(releasedID) left")
        await b.stop()
        await a.stop()
    }

    @Test("given members on two nodes, messages reach a local one in-process and a remote one over the link, with the sender")
    func sendLocalAndRemote() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let here = a.makeMember(), there = b.makeMember(), sender = a.makeMember()
        try await b.join(scope: "s", group: "g", there)
        #expect(await Self.eventually(.seconds(5)) { await a.members(scope: "s", group: "g") == [there.id] })
        // When
        #expect(try await a.send([1, 2, 3], to: here.id, from: sender) == .local)
        #expect(try await a.send([4, 5], to: there.id, from: sender) == .remote)
        // Then
        var local = here.messages.makeAsyncIterator(), remote = there.messages.makeAsyncIterator()
        let first = await local.next(), second = await remote.next()
        #expect(first?.payload == [1, 2, 3] && first?.path == .local && first?.from == sender.id)
        #expect(second?.payload == [4, 5] && second?.path == .remote && second?.from == sender.id && second?.fromNode == a.uid)
        #expect(try await a.send([6], to: GroupMemberID(node: b.uid, serial: 999)) == .remote, "an unknown remote member is the peer's to drop")
        #expect(try await a.send([6], to: GroupMemberID(node: NodeUID(rawValue: 1), serial: 1)) == nil, "no such node")
        await b.stop()
        await a.stop()
    }

    @Test("given a scope monitor on one node, it gets the current groups, then joins and leaves of the other, and a stopped node's members leave")
    func monitors() async throws {
        let nodes = try await Self.cluster(3)
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        let early = b.makeMember()
        try await b.join(scope: "s", group: "g", early)
        #expect(await Self.eventually(.seconds(5)) { await a.members(scope: "s", group: "g") == [early.id] })
        let (now, changes) = await a.monitorScope("s")
        #expect(now == ["g": [early.id]])
        let (groupNow, groupChanges) = await a.monitor(scope: "s", group: "h")
        #expect(groupNow == [])
        // When
        let late = c.makeMember()
        try await c.join(scope: "s", group: "h", late)
        await c.stop()
        // Then
        var seen: [GroupNotification] = []
        for await change in changes {
            seen.append(change)
            if seen.count == 2 { break }
        }
        #expect(seen == [GroupNotification(.join, scope: "s", group: "h", members: [late.id]),
                         GroupNotification(.leave, scope: "s", group: "h", members: [late.id])])
        var groupSeen: [GroupNotification] = []
        for await change in groupChanges {
            groupSeen.append(change)
            if groupSeen.count == 2 { break }
        }
        #expect(groupSeen == seen, "the group monitor sees the same for its group")
        #expect(await a.members(scope: "s", group: "g") == [early.id])
        await b.stop()
        await a.stop()
    }

    @Test("given joins that return without waiting for the loop, what the node does next sees them: reads, leaves, broadcasts, and refusals come at once")
    func joinsInEffectOnReturn() async throws {
        let nodes = try await Self.cluster(1)
        let a = nodes[0]
        // When: each join is followed at once by what depends on it
        for round in 0..<200 {
            let member = a.makeMember { _ in }
            try await a.joinEmitters(store: "s", subscription: "r\(round)", member)
            let receipt = try a.broadcast(store: "s", subscription: "r\(round)", event: EmitterEvent(eventID: "e", eventType: "t", streamID: "x"))
            #expect(receipt == BroadcastReceipt(member: member.id, path: .local))
            try await a.join(scope: "s", group: "g\(round)", member)
            #expect(await a.members(scope: "s", group: "g\(round)") == [member.id])
            try await a.leave(scope: "s", group: "g\(round)", member)
        }
        // Then: refusals are immediate and change nothing
        let member = a.makeMember()
        await #expect(throws: GroupsError.invalidScope("")) { try await a.join(scope: "", group: "g", member) }
        await #expect(throws: GroupsError.invalidGroup("")) { try await a.join(scope: "s", group: "", member) }
        member.terminate()
        #expect(member.hasEnded)
        await #expect(throws: GroupsError.memberEnded(member.id)) { try await a.join(scope: "s", group: "g", member) }
        #expect(await a.whichGroups(scope: "s") == [])
        await a.stop()
        let late = a.makeMember()
        await #expect(throws: GroupsError.nodeStopped) { try await a.join(scope: "s", group: "g", late) }
    }

    @Test("given a member that ends right after its join, it is in no group once both are applied, here and on the peer")
    func joinThenEnd() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        for _ in 0..<100 {
            let member = a.makeMember()
            try await a.join(scope: "s", group: "g", member)
            member.terminate()
        }
        #expect(await a.members(scope: "s", group: "g") == [])
        #expect(await Self.eventually(.seconds(5)) { await b.whichGroups(scope: "s") == [] })
        await b.stop()
        await a.stop()
    }

    @Test("given a scope monitor with a handler, it gets the current groups, then every join and leave on the loop, until cancelled")
    func handlerMonitors() async throws {
        let nodes = try await Self.cluster(2)
        let (a, b) = (nodes[0], nodes[1])
        let early = b.makeMember()
        try await b.join(scope: "s", group: "g", early)
        #expect(await Self.eventually(.seconds(5)) { await a.members(scope: "s", group: "g") == [early.id] })
        let seen = Mutex<[GroupNotification]>([])
        let (now, monitor) = await a.monitorScope("s") { change in seen.withLock { $0.append(change) } }
        #expect(now == ["g": [early.id]])
        let groupSeen = Mutex<[GroupNotification]>([])
        var groupMonitor: GroupMonitor? = await { () async -> GroupMonitor in
            let (groupNow, monitor) = await a.monitor(scope: "s", group: "h") { change in groupSeen.withLock { $0.append(change) } }
            #expect(groupNow == [])
            return monitor
        }()
        // When
        let late = b.makeMember()
        try await b.join(scope: "s", group: "h", late)
        try await b.leave(scope: "s", group: "h", late)
        // Then
        let expected = [GroupNotification(.join, scope: "s", group: "h", members: [late.id]),
                        GroupNotification(.leave, scope: "s", group: "h", members: [late.id])]
        #expect(await Self.eventually(.seconds(5)) { seen.withLock { $0 } == expected })
        #expect(groupSeen.withLock { $0 } == expected, "the group monitor sees the same for its group")
        // When: cancelled (one explicitly, one released), later changes do not reach them
        monitor.cancel()
        #expect(groupMonitor != nil)
        groupMonitor = nil
        _ = await a.members(scope: "s", group: "h") // the loop has taken the cancellations
        try await b.join(scope: "s", group: "h", late)
        #expect(await Self.eventually(.seconds(5)) { await a.members(scope: "s", group: "h") == [late.id] })
        #expect(seen.withLock { $0 } == expected)
        #expect(groupSeen.withLock { $0 } == expected)
        await b.stop()
        await a.stop()
    }

    @Test("given 5,000 members joining one emitter group and one topic back to back, then leaving, every broadcast and publish right after sees exactly the members in at that moment")
    func directoryFollowsManyChanges() async throws {
        let nodes = try await Self.cluster(1)
        let a = nodes[0]
        let members = (0..<5_000).map { _ in a.makeMember { _ in } }
        for member in members {
            try await a.joinEmitters(store: "s", subscription: "many", member)
            try await a.subscribe("many", member)
        }
        // Then: the last joiner can be chosen, and a publish reaches all of them
        #expect(try a.publish("many", [1]) == 1)
        var chosen: Set<GroupMemberID> = []
        for _ in 0..<20_000 { chosen.insert(try a.broadcast(store: "s", subscription: "many", event: EmitterEvent(eventID: "e", eventType: "t", streamID: "x")).member) }
        #expect(chosen.count > 4_000 && chosen.isSubset(of: Set(members.map(\.id))))
        // When: all but one leave, by id (waiting for the loop)
        for member in members.dropFirst() {
            try await a.leave(scope: EmitterNames.scope, group: EmitterNames.group(store: "s", subscription: "many"), members: [member.id])
        }
        // Then: the next broadcast can only choose the one left
        let receipt = try a.broadcast(store: "s", subscription: "many", event: EmitterEvent(eventID: "e", eventType: "t", streamID: "x"))
        #expect(receipt.member == members[0].id)
        await a.stop()
    }
}
