import ChorusCore
import ChorusGroups
import ChorusGroupsSimulation
import ChorusMembership
import ChorusSimulation
import ChorusTestSupport
import ChorusWire
import Testing

/// Erlang/OTP's pg_SUITE behaviours, ported onto Chorus nodes (membership and groups cores) in
/// the simulator with `local` timers. Each prints its seed; `CHORUS_SEED` replays one.
@Suite(.onSimulationThread) struct PGSuiteSimulationTests {
    /// A cluster of `size` whose membership has settled.
    static func settled(_ name: String, fixed: UInt64, size: Int) -> SimulatedGroupsCluster {
        let cluster = SimulatedGroupsCluster(seed: testSeed(name, fixed: fixed), size: size)
        let all = cluster.simulation.addresses
        #expect(cluster.run(until: { cluster.membershipSettled(all) && synced(cluster, all) }, timeout: .seconds(30)))
        return cluster
    }

    /// Whether every listed node holds a full view of every other listed node.
    static func synced(_ cluster: SimulatedGroupsCluster, _ addresses: [SimAddress]) -> Bool {
        addresses.allSatisfy { address in
            let node = cluster.node(address)
            return addresses.allSatisfy { $0 == address || node.groups.isSynced(with: cluster.node($0).uid) }
        }
    }

    static func view(_ pairs: [(String, [GroupMemberID])]) -> [String: [GroupMemberID]] {
        Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, $0.1.sorted()) })
    }

    @Test("single: a member joined thrice, left once, then terminated, is seen so on every node")
    func single() throws {
        let cluster = Self.settled("single", fixed: 0x9601, size: 3)
        let n = cluster.simulation.addresses
        let m = cluster.newMember(on: n[0])
        try cluster.join(n[0], scope: "s", group: "g", [m, m, m])
        try cluster.leave(n[0], scope: "s", group: "g", [m])
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": [m, m]]) }, timeout: .seconds(2)))
        // When
        cluster.terminate(n[0], m)
        // Then
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: [:]) }, timeout: .seconds(2)))
        #expect(throws: GroupsError.notJoined) { try cluster.leave(n[0], scope: "s", group: "g", [m]) }
    }

    @Test("leave_exit_race: a member that terminates while leaving ends up in no group anywhere")
    func leaveExitRace() throws {
        let cluster = Self.settled("leaveExitRace", fixed: 0x9602, size: 2)
        let n = cluster.simulation.addresses
        let m = cluster.newMember(on: n[0])
        try cluster.join(n[0], scope: "s", group: "g", [m])
        // When: the leave and the end happen in the same instant, in both orders
        cluster.terminate(n[0], m)
        #expect(throws: GroupsError.notJoined) { try cluster.leave(n[0], scope: "s", group: "g", [m]) }
        let m2 = cluster.newMember(on: n[0])
        try cluster.join(n[0], scope: "s", group: "g", [m2])
        try cluster.leave(n[0], scope: "s", group: "g", [m2])
        cluster.terminate(n[0], m2)
        // Then
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: [:]) }, timeout: .seconds(2)))
    }

    @Test("overlay_missing: a node outside the cluster that forges a join is ignored")
    func overlayMissing() throws {
        let cluster = Self.settled("overlayMissing", fixed: 0x9603, size: 2)
        let n = cluster.simulation.addresses
        let outsider = cluster.add() // never joins membership
        let forged = GroupsDelta(firstSequence: 1, changes: [GroupChange(.join, scope: "s", group: "g", serials: [1])])
        let outsiderUID = cluster.node(outsider).uid
        // When: it sends as itself, and as a member node's uid
        cluster.simulation.call(outsider) { _, effects in
            effects.send(.groups(.delta(forged), from: outsiderUID), to: n[0], transport: .reliable)
            effects.send(.groups(.sync(GroupsSync(sequence: 5, scopes: [ScopeSnapshot(scope: "s", groups: [GroupSnapshot(group: "g", serials: [1])])])),
                                 from: cluster.node(n[1]).uid), to: n[0], transport: .reliable)
        }
        cluster.simulation.run(for: .seconds(1))
        // Then
        #expect(cluster.view(of: n[0], scope: "s").isEmpty)
    }

    @Test("two and initial: members joined before and after two nodes meet are seen on both")
    func twoAndInitial() throws {
        let cluster = SimulatedGroupsCluster(seed: testSeed("twoAndInitial", fixed: 0x9604), size: 1)
        let first = cluster.simulation.addresses[0]
        let early = cluster.newMember(on: first)
        try cluster.join(first, scope: "s", group: "g", [early])
        // When: a second node joins the cluster, then a member of it joins the group
        let second = cluster.add()
        cluster.joinCluster(second, seeds: [first])
        #expect(cluster.run(until: { cluster.membershipSettled([first, second]) }, timeout: .seconds(10)))
        let late = cluster.newMember(on: second)
        try cluster.join(second, scope: "s", group: "g", [late])
        // Then
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": [early, late].sorted()]) }, timeout: .seconds(5)))
    }

    @Test("netsplit: each side's changes during a split are seen by the other after it heals")
    func netsplit() throws {
        let cluster = Self.settled("netsplit", fixed: 0x9605, size: 4)
        let n = cluster.simulation.addresses
        let members = n.map { cluster.newMember(on: $0) }
        for (node, member) in zip(n, members) { try cluster.join(node, scope: "s", group: "g", [member]) }
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": members.sorted()]) }, timeout: .seconds(2)))
        // When: split in two, each side sees the other go, and changes things
        cluster.simulation.partition([[n[0], n[1]], [n[2], n[3]]])
        #expect(cluster.run(until: {
            cluster.allAgree(scope: "s", among: [n[0], n[1]], on: ["g": [members[0], members[1]].sorted()])
                && cluster.allAgree(scope: "s", among: [n[2], n[3]], on: ["g": [members[2], members[3]].sorted()])
        }, timeout: .seconds(30)), "each side drops the other's members once membership declares them dead")
        let left = cluster.newMember(on: n[0]), right = cluster.newMember(on: n[3])
        try cluster.join(n[0], scope: "s", group: "split", [left])
        try cluster.join(n[3], scope: "s", group: "split", [right])
        try cluster.leave(n[1], scope: "s", group: "g", [members[1]])
        cluster.simulation.run(for: .seconds(2))
        // Then: after the heal, one view with everything done on both sides
        cluster.simulation.heal()
        let expected = Self.view([("g", [members[0], members[2], members[3]]), ("split", [left, right])])
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: expected) }, timeout: .seconds(60)))
    }

    @Test("trisplit: three islands heal into one view")
    func trisplit() throws {
        let cluster = Self.settled("trisplit", fixed: 0x9606, size: 6)
        let n = cluster.simulation.addresses
        cluster.simulation.partition([[n[0], n[1]], [n[2], n[3]], [n[4], n[5]]])
        cluster.simulation.run(for: .seconds(10))
        var expected: [GroupMemberID] = []
        for node in n {
            let member = cluster.newMember(on: node)
            try cluster.join(node, scope: "s", group: "g", [member])
            expected.append(member)
        }
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", among: [n[2], n[3]], on: Self.view([("g", [expected[2], expected[3]])])) },
                            timeout: .seconds(5)), "an island sees only its own members")
        // When
        cluster.simulation.heal()
        // Then
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: Self.view([("g", expected)])) }, timeout: .seconds(60)))
    }

    @Test("foursplit: a member that ends during a split is not seen after the heal")
    func foursplit() throws {
        let cluster = Self.settled("foursplit", fixed: 0x9607, size: 4)
        let n = cluster.simulation.addresses
        let members = n.map { cluster.newMember(on: $0) }
        for (node, member) in zip(n, members) { try cluster.join(node, scope: "s", group: "g", [member]) }
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": members.sorted()]) }, timeout: .seconds(2)))
        // When: four islands; one member ends in its island
        cluster.simulation.partition(n.map { [$0] })
        cluster.simulation.run(for: .seconds(10))
        cluster.terminate(n[1], members[1])
        cluster.simulation.run(for: .seconds(1))
        cluster.simulation.heal()
        // Then
        let expected = ["g": [members[0], members[2], members[3]].sorted()]
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: expected) }, timeout: .seconds(60)))
    }

    @Test("double: a member joined twice and left once stays, on every node, with notifications for each")
    func double() throws {
        let cluster = Self.settled("double", fixed: 0x9608, size: 2)
        let n = cluster.simulation.addresses
        let m = cluster.newMember(on: n[0])
        try cluster.join(n[0], scope: "s", group: "g", [m])
        try cluster.join(n[0], scope: "s", group: "g", [m])
        try cluster.leave(n[0], scope: "s", group: "g", [m])
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": [m]]) }, timeout: .seconds(2)))
        let seen = cluster.node(n[1]).notifications.filter { $0.group == "g" }
        #expect(seen == [GroupNotification(.join, scope: "s", group: "g", members: [m]),
                         GroupNotification(.join, scope: "s", group: "g", members: [m]),
                         GroupNotification(.leave, scope: "s", group: "g", members: [m])])
    }

    @Test("group_leave: 16 members join, 4 leave, 12 remain everywhere")
    func groupLeave() throws {
        let cluster = Self.settled("groupLeave", fixed: 0x9609, size: 3)
        let n = cluster.simulation.addresses
        let members = (0..<16).map { _ in cluster.newMember(on: n[1]) }
        try cluster.join(n[1], scope: "s", group: "g", members)
        try cluster.leave(n[1], scope: "s", group: "g", Array(members.prefix(4)))
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": Array(members.dropFirst(4))]) }, timeout: .seconds(2)))
    }

    @Test("monitors: a remote node's notifications say who joined and left, in order, and a node's death as leaves")
    func monitors() throws {
        let cluster = Self.settled("monitors", fixed: 0x960A, size: 3)
        let n = cluster.simulation.addresses
        let before = cluster.node(n[2]).notifications.count
        let m1 = cluster.newMember(on: n[0]), m2 = cluster.newMember(on: n[1])
        try cluster.join(n[0], scope: "s", group: "a", [m1])
        cluster.simulation.run(for: .milliseconds(100))
        try cluster.join(n[1], scope: "s", group: "b", [m2])
        cluster.simulation.run(for: .milliseconds(100))
        try cluster.leave(n[0], scope: "s", group: "a", [m1])
        cluster.simulation.run(for: .milliseconds(100))
        // When: node 1 dies
        cluster.simulation.crash(n[1])
        #expect(cluster.run(until: { cluster.view(of: n[2], scope: "s").isEmpty }, timeout: .seconds(30)))
        // Then
        let seen = Array(cluster.node(n[2]).notifications.dropFirst(before))
        #expect(seen == [GroupNotification(.join, scope: "s", group: "a", members: [m1]),
                         GroupNotification(.join, scope: "s", group: "b", members: [m2]),
                         GroupNotification(.leave, scope: "s", group: "a", members: [m1]),
                         GroupNotification(.leave, scope: "s", group: "b", members: [m2])])
    }

    @Test("a node that restarts loses its old members everywhere; its new ones carry the new uid")
    func restartReplacesMembers() throws {
        let cluster = Self.settled("restartReplacesMembers", fixed: 0x960B, size: 3)
        let n = cluster.simulation.addresses
        let old = cluster.newMember(on: n[2])
        try cluster.join(n[2], scope: "s", group: "g", [old])
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": [old]]) }, timeout: .seconds(2)))
        // When
        cluster.restart(n[2], seeds: [n[0]])
        let fresh = cluster.newMember(on: n[2])
        #expect(fresh.node != old.node)
        try cluster.join(n[2], scope: "s", group: "g", [fresh])
        // Then
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": [fresh]]) }, timeout: .seconds(30)))
    }

    @Test("a node that leaves the cluster gracefully takes its members with it")
    func leaveTakesMembers() throws {
        let cluster = Self.settled("leaveTakesMembers", fixed: 0x960C, size: 3)
        let n = cluster.simulation.addresses
        let stays = cluster.newMember(on: n[0]), goes = cluster.newMember(on: n[2])
        try cluster.join(n[0], scope: "s", group: "g", [stays])
        try cluster.join(n[2], scope: "s", group: "g", [goes])
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", on: ["g": [stays, goes].sorted()]) }, timeout: .seconds(2)))
        // When
        cluster.simulation.call(n[2]) { node, effects in
            node.member.perform(node.member.instance.leave(now: effects.now), &effects, wrap: SimulatedGroupsNode.Message.membership)
        }
        // Then
        #expect(cluster.run(until: { cluster.allAgree(scope: "s", among: [n[0], n[1]], on: ["g": [stays]]) }, timeout: .seconds(5)))
    }

    @Test("thundering_herd: with 10,000 groups on one node and every other node restarting at once, a join is seen everywhere within 5 s")
    func thunderingHerd() throws {
        let cluster = Self.settled("thunderingHerd", fixed: 0x960D, size: 5)
        let n = cluster.simulation.addresses
        let member = cluster.newMember(on: n[0])
        for group in 0..<10_000 { try cluster.join(n[0], scope: "herd", group: "g\(group)", [member]) }
        #expect(cluster.run(until: { n.allSatisfy { cluster.node($0).groups.whichGroups(scope: "herd").count == 10_000 } },
                            timeout: .seconds(10)))
        // When: the other four restart together and sync the 10,000 groups again
        for node in n.dropFirst() { cluster.restart(node, seeds: [n[0]]) }
        #expect(cluster.run(until: { n.allSatisfy { cluster.node($0).groups.whichGroups(scope: "herd").count == 10_000 } },
                            timeout: .seconds(30)))
        let start = cluster.simulation.now
        let late = cluster.newMember(on: n[3])
        try cluster.join(n[3], scope: "herd", group: "g0", [late])
        // Then
        #expect(cluster.run(until: { cluster.allAgree(scope: "herd", among: n) && cluster.node(n[0]).groups.members(scope: "herd", group: "g0").count == 2 },
                            timeout: .seconds(5)))
        print("thunderingHerd: the join was seen everywhere \(cluster.simulation.now - start) after it")
    }
}
