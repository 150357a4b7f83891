import ChorusCore
import ChorusWire
import Testing
@testable import ChorusGroups

/// A few groups cores wired by hand: messages wait in `inFlight` until delivered, in order.
struct Wiring {
    var nodes: [NodeUID: GroupsInstance] = [:]
    var inFlight: [(message: GroupsMessage, from: NodeUID, to: NodeUID)] = []
    var notifications: [NodeUID: [GroupNotification]] = [:]
    var now = ProtocolTime.zero

    init(_ uids: [UInt64]) {
        for raw in uids {
            let uid = NodeUID(rawValue: raw)
            nodes[uid] = GroupsInstance(node: uid, settings: .local, now: now)
        }
    }

    static let a = NodeUID(rawValue: 0xA), b = NodeUID(rawValue: 0xB), c = NodeUID(rawValue: 0xC)

    func member(_ node: NodeUID, _ serial: UInt64) -> GroupMemberID { GroupMemberID(node: node, serial: serial) }

    mutating func take(_ directives: [GroupsDirective], from node: NodeUID) {
        for directive in directives {
            switch directive {
            case let .send(message, peers):
                for peer in peers { inFlight.append((message, node, peer)) }
            case .notify(let notification):
                notifications[node, default: []].append(notification)
            }
        }
    }

    mutating func on(_ node: NodeUID, _ body: (inout GroupsInstance) throws -> [GroupsDirective]) rethrows {
        let directives = try body(&nodes[node]!)
        take(directives, from: node)
    }

    /// Nodes A and B, each up for the other and synced.
    static func connectedPair() -> Wiring {
        var w = Wiring([0xA, 0xB])
        w.connectAll()
        w.deliverAll()
        return w
    }

    /// Every pair of nodes sees the other as up.
    mutating func connectAll() {
        for node in nodes.keys.sorted() {
            let now = self.now
            for peer in nodes.keys.sorted() where peer != node { on(node) { $0.peerUp(peer, now: now) } }
        }
    }

    /// Delivers messages in order until none is left; returns how many were delivered.
    @discardableResult
    mutating func deliverAll(dropping drop: (GroupsMessage, NodeUID, NodeUID) -> Bool = { _, _, _ in false }) -> Int {
        var count = 0
        while !inFlight.isEmpty {
            let (message, from, to) = inFlight.removeFirst()
            count += 1
            if drop(message, from, to) { continue }
            let now = self.now
            on(to) { $0.receive(message, from: from, now: now) }
        }
        return count
    }

    mutating func tick(by duration: Duration) {
        now = now + duration
        for node in nodes.keys.sorted() {
            let now = self.now
            on(node) { $0.tick(now: now) }
        }
    }

    func members(_ node: NodeUID, _ group: String, scope: String = "s") -> [GroupMemberID] {
        nodes[node]!.members(scope: scope, group: group)
    }
}

@Suite struct LocalGroupRulesTests {
    @Test("given a member joined three times, it is listed three times and must leave three times (pg_SUITE single)")
    func multiplicity() throws {
        var w = Wiring([0xA])
        let a = Wiring.a, m = w.member(a, 1)
        // When
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m, m]) }
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m]) }
        // Then
        #expect(w.members(a, "g") == [m, m, m])
        #expect(w.nodes[a]!.localMembers(scope: "s", group: "g") == [m, m, m])
        try w.on(a) { try $0.leave(scope: "s", group: "g", members: [m]) }
        #expect(w.members(a, "g") == [m, m])
        try w.on(a) { try $0.leave(scope: "s", group: "g", members: [m, m]) }
        #expect(w.members(a, "g") == [])
        #expect(w.nodes[a]!.whichGroups(scope: "s") == [], "an empty group does not exist")
        #expect(throws: GroupsError.notJoined) { try w.on(a) { try $0.leave(scope: "s", group: "g", members: [m]) } }
    }

    @Test("given a member of another node, join and leave refuse it and change nothing")
    func remoteMemberRefused() {
        var w = Wiring([0xA])
        let stranger = w.member(Wiring.b, 1), mine = w.member(Wiring.a, 1)
        #expect(throws: GroupsError.notLocal(stranger)) {
            try w.on(Wiring.a) { try $0.join(scope: "s", group: "g", members: [mine, stranger]) }
        }
        #expect(throws: GroupsError.notLocal(stranger)) {
            try w.on(Wiring.a) { try $0.leave(scope: "s", group: "g", members: [stranger]) }
        }
        #expect(w.members(Wiring.a, "g") == [], "a refused join adds nobody, not even the local member listed with it")
    }

    @Test("given leave of several members of which only some are joined, those leave and the call succeeds")
    func partialLeave() throws {
        var w = Wiring([0xA])
        let a = Wiring.a, m1 = w.member(a, 1), m2 = w.member(a, 2)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m1]) }
        try w.on(a) { try $0.leave(scope: "s", group: "g", members: [m1, m2]) }
        #expect(w.members(a, "g") == [])
        #expect(w.notifications[a]?.last == GroupNotification(.leave, scope: "s", group: "g", members: [m1]))
    }

    @Test("given empty or oversized names, the call is refused", arguments: [("", "g"), ("s", ""), (String(repeating: "x", count: 256), "g"),
                                                                                ("s", String(repeating: "x", count: 1025))])
    func invalidNames(scope: String, group: String) {
        var w = Wiring([0xA])
        let m = w.member(Wiring.a, 1)
        #expect(throws: GroupsError.self) { try w.on(Wiring.a) { try $0.join(scope: scope, group: group, members: [m]) } }
    }

    @Test("given a member in several groups and scopes, when it terminates, it leaves all of them, every join")
    func terminateLeavesEverything() throws {
        var w = Wiring([0xA])
        let a = Wiring.a, m = w.member(a, 1), other = w.member(a, 2)
        try w.on(a) { try $0.join(scope: "s", group: "g1", members: [m, m]) }
        try w.on(a) { try $0.join(scope: "s", group: "g2", members: [m, other]) }
        try w.on(a) { try $0.join(scope: "t", group: "g1", members: [m]) }
        w.notifications = [:]
        // When
        try w.on(a) { $0.terminate(m) }
        // Then
        #expect(w.nodes[a]!.whichGroups(scope: "s") == ["g2"])
        #expect(w.members(a, "g2") == [other])
        #expect(w.nodes[a]!.whichGroups(scope: "t") == [])
        #expect(w.notifications[a] == [
            GroupNotification(.leave, scope: "s", group: "g1", members: [m, m]),
            GroupNotification(.leave, scope: "s", group: "g2", members: [m]),
            GroupNotification(.leave, scope: "t", group: "g1", members: [m]),
        ])
        #expect(throws: GroupsError.notJoined) { try w.on(a) { try $0.leave(scope: "s", group: "g1", members: [m]) } }
        try w.on(a) { $0.terminate(m) } // a second end changes nothing
    }

    @Test("given two scopes, the same group name in each is a different group")
    func scopesAreIndependent() throws {
        var w = Wiring([0xA])
        let a = Wiring.a, m1 = w.member(a, 1), m2 = w.member(a, 2)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m1]) }
        try w.on(a) { try $0.join(scope: "t", group: "g", members: [m2]) }
        #expect(w.members(a, "g", scope: "s") == [m1])
        #expect(w.members(a, "g", scope: "t") == [m2])
        #expect(w.nodes[a]!.scopes == ["s", "t"])
    }

    @Test("given a group with three distinct members, one joined twice, a random pick is among the three")
    func randomPickIsDistinct() throws {
        var w = Wiring([0xA])
        let a = Wiring.a, ms = (1...3).map { w.member(a, $0) }
        try w.on(a) { try $0.join(scope: "s", group: "g", members: ms + [ms[0]]) }
        #expect(Set(w.nodes[a]!.distinctMembers(scope: "s", group: "g")) == Set(ms))
        var random = ProtocolRandom(seed: 7)
        var seen: Set<GroupMemberID> = []
        for _ in 0..<100 { seen.insert(w.nodes[a]!.randomMember(scope: "s", group: "g", using: &random)!) }
        #expect(seen == Set(ms))
        #expect(w.nodes[a]!.randomMember(scope: "s", group: "none", using: &random) == nil)
    }
}

@Suite struct GroupsPeerRulesTests {
    @Test("given two peers, joins and leaves on one are seen on the other, with notifications (pg_SUITE two)")
    func twoPeers() throws {
        var w = Wiring.connectedPair()
        let (a, b) = (Wiring.a, Wiring.b)
        let m = w.member(a, 1)
        // When
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m, m]) }
        w.deliverAll()
        // Then
        #expect(w.members(b, "g") == [m, m])
        #expect(w.nodes[b]!.localMembers(scope: "s", group: "g") == [])
        #expect(w.nodes[b]!.whichLocalGroups(scope: "s") == [])
        #expect(w.notifications[b]?.last == GroupNotification(.join, scope: "s", group: "g", members: [m, m]))
        try w.on(a) { try $0.leave(scope: "s", group: "g", members: [m, m]) }
        w.deliverAll()
        #expect(w.nodes[b]!.whichGroups(scope: "s") == [], "no phantom group after a remote leave (OTP #11360)")
    }

    @Test("given a node with members before a peer appears, the peer gets them through sync (pg_SUITE initial)")
    func initialSync() throws {
        var w = Wiring([0xA, 0xB])
        let (a, b) = (Wiring.a, Wiring.b)
        let m = w.member(a, 1)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m]) }
        #expect(w.inFlight.isEmpty, "no peers: nothing is sent")
        // When
        w.connectAll()
        w.deliverAll()
        // Then
        #expect(w.members(b, "g") == [m])
        #expect(w.nodes[b]!.isSynced(with: a) && w.nodes[a]!.isSynced(with: b))
    }

    @Test("given a message from a node that is not a peer, it is ignored (pg_SUITE overlay_missing)")
    func strangerIgnored() throws {
        var w = Wiring([0xA, 0xB])
        let (a, c) = (Wiring.a, Wiring.c)
        let forged = GroupsDelta(firstSequence: 1, changes: [GroupChange(.join, scope: "s", group: "g", serials: [1])])
        try w.on(a) { $0.receive(.delta(forged), from: c, now: .zero) }
        try w.on(a) { $0.receive(.sync(GroupsSync(sequence: 1, scopes: [ScopeSnapshot(scope: "s", groups: [GroupSnapshot(group: "g", serials: [1])])])),
                                 from: c, now: .zero) }
        try w.on(a) { $0.receive(.discover, from: c, now: .zero) }
        #expect(w.members(a, "g") == [])
        #expect(w.inFlight.isEmpty, "a stranger is not even answered")
    }

    @Test("given a peer that goes down, all its members leave, with notifications")
    func peerDown() throws {
        var w = Wiring.connectedPair()
        let (a, b) = (Wiring.a, Wiring.b)
        let m1 = w.member(a, 1), m2 = w.member(a, 2), local = w.member(b, 1)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m1, m2]) }
        try w.on(b) { try $0.join(scope: "s", group: "g", members: [local]) }
        w.deliverAll()
        #expect(w.members(b, "g") == [m1, m2, local])
        // When
        try w.on(b) { $0.peerDown(a) }
        // Then
        #expect(w.members(b, "g") == [local])
        #expect(w.notifications[b]?.last == GroupNotification(.leave, scope: "s", group: "g", members: [m1, m2]))
        try w.on(b) { $0.receive(.delta(GroupsDelta(firstSequence: 2, changes: [GroupChange(.join, scope: "s", group: "g", serials: [9])])), from: a, now: .zero) }
        #expect(w.members(b, "g") == [local], "a peer that went down is a stranger until it comes back")
    }

    @Test("given a lost delta, the next one shows a gap and the receiver asks for a sync, then agrees")
    func gapTriggersSync() throws {
        var w = Wiring.connectedPair()
        let (a, b) = (Wiring.a, Wiring.b)
        let m1 = w.member(a, 1), m2 = w.member(a, 2)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m1]) }
        w.deliverAll(dropping: { message, _, _ in if case .delta = message { true } else { false } })
        #expect(w.members(b, "g") == [])
        // When
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m2]) }
        w.deliverAll()
        // Then
        #expect(w.members(b, "g") == [m1, m2])
    }

    @Test("given a lost last delta, the next digest makes the receiver ask for a sync")
    func digestCatchesLostTail() throws {
        var w = Wiring.connectedPair()
        let (a, b) = (Wiring.a, Wiring.b)
        let m = w.member(a, 1)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m]) }
        w.deliverAll(dropping: { message, _, _ in if case .delta = message { true } else { false } })
        #expect(w.members(b, "g") == [])
        // When
        w.tick(by: GroupsSettings.local.digestInterval)
        w.deliverAll()
        // Then
        #expect(w.members(b, "g") == [m])
    }

    @Test("given an unanswered sync request, it is asked again after the retry interval")
    func syncRetried() throws {
        var w = Wiring([0xA, 0xB])
        let (a, b) = (Wiring.a, Wiring.b)
        let m = w.member(a, 1)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m]) }
        try w.on(b) { $0.peerUp(a, now: .zero) }
        w.deliverAll() // a does not know b yet: the discover is ignored
        #expect(w.members(b, "g") == [])
        try w.on(a) { $0.peerUp(b, now: .zero) }
        w.deliverAll(dropping: { message, from, _ in from == a && { if case .sync = message { true } else { false } }() })
        #expect(w.members(b, "g") == [])
        // When
        w.tick(by: GroupsSettings.local.syncRetryInterval)
        w.deliverAll()
        // Then
        #expect(w.members(b, "g") == [m])
    }

    @Test("given a duplicated delta, it is applied once")
    func duplicateDeltaIgnored() throws {
        var w = Wiring.connectedPair()
        let (a, b) = (Wiring.a, Wiring.b)
        let m = w.member(a, 1)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m]) }
        let copy = w.inFlight
        w.inFlight += copy
        w.deliverAll()
        #expect(w.members(b, "g") == [m])
    }

    @Test("given a corrupted view of a peer, its next sync repairs it (pg_SUITE forced_sync)")
    func forcedSync() throws {
        var w = Wiring.connectedPair()
        let (a, b) = (Wiring.a, Wiring.b)
        let m = w.member(a, 1)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m]) }
        w.deliverAll()
        // When: a sync that claims members a never had, then a real one
        let bogus = GroupsSync(sequence: 1, scopes: [ScopeSnapshot(scope: "s", groups: [GroupSnapshot(group: "x", serials: [77])])])
        try w.on(b) { $0.receive(.sync(bogus), from: a, now: .zero) }
        #expect(w.nodes[b]!.whichGroups(scope: "s") == ["x"])
        try w.on(b) { $0.peerUp(a, now: .zero) }
        w.deliverAll()
        // Then
        #expect(w.nodes[b]!.whichGroups(scope: "s") == ["g"])
        #expect(w.members(b, "g") == [m])
    }

    @Test("given a delta that takes out a member the receiver never saw, the receiver resyncs")
    func inconsistentLeaveResyncs() throws {
        var w = Wiring.connectedPair()
        let (a, b) = (Wiring.a, Wiring.b)
        let m = w.member(a, 1)
        try w.on(a) { try $0.join(scope: "s", group: "g", members: [m]) }
        w.deliverAll()
        let stray = GroupsDelta(firstSequence: 2, changes: [GroupChange(.leave, scope: "s", group: "g", serials: [99])])
        try w.on(b) { $0.receive(.delta(stray), from: a, now: .zero) }
        #expect(w.inFlight.map(\.message) == [.discover])
        w.deliverAll()
        #expect(w.members(b, "g") == [m])
    }
}
