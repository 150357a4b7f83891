import ChorusCore
import ChorusMembership
import ChorusWire
import Testing

/// The rules that end a suspicion, driven by hand on one instance (no simulator): refutation
/// answered to the accuser, stale-news correction, and the recheck of a lone suspicion.
@Suite("Suspicion rules on one member")
struct SuspicionRulesTests {
    static let me = MemberID(name: "a", uid: NodeUID(rawValue: 1), generation: 1)
    static let b = MemberID(name: "b", uid: NodeUID(rawValue: 2), generation: 1)
    static let c = MemberID(name: "c", uid: NodeUID(rawValue: 3), generation: 1)
    static let d = MemberID(name: "d", uid: NodeUID(rawValue: 4), generation: 1)
    static let e = MemberID(name: "e", uid: NodeUID(rawValue: 5), generation: 1)

    /// Member `a` at time 0 that knows `b` and `c` alive at the given incarnations, and `d` and `e`
    /// (five members: enough for Lifeguard to want k = 2 confirmations).
    static func member(b bIncarnation: UInt64 = 0, c cIncarnation: UInt64 = 0, lifeguard: Bool = true) -> SWIMInstance {
        var settings = SWIMSettings.lan
        settings.lifeguard = lifeguard
        var instance = SWIMInstance(me: me, address: "a:1", settings: settings, random: ProtocolRandom(seed: 7), now: .zero)
        let news = [
            MemberGossip(member: b, address: "b:1", state: MemberState(.alive, Incarnation(bIncarnation)), meta: []),
            MemberGossip(member: c, address: "c:1", state: MemberState(.alive, Incarnation(cIncarnation)), meta: []),
            MemberGossip(member: d, address: "d:1", state: MemberState(.alive, .zero), meta: []),
            MemberGossip(member: e, address: "e:1", state: MemberState(.alive, .zero), meta: []),
        ]
        _ = instance.receive(MembershipPacket(sender: b, senderAddress: "b:1", probe: .none, gossip: news), from: "b:1", now: .zero)
        return instance
    }

    /// The gossip of every packet sent to `address`.
    static func gossip(in directives: [SWIMDirective], to address: String) -> [MemberGossip] {
        directives.flatMap { directive -> [MemberGossip] in
            if case let .send(packet, to, _) = directive, to == address { return packet.gossip }
            return []
        }
    }

    /// Runs `a` until `end`, acking its direct pings to the members in `responsive`; returns the
    /// news it sent to `watch` in packets that carry no probe, with their times.
    static func drive(_ a: inout SWIMInstance, from start: ProtocolTime, until end: (ProtocolTime, [SWIMDirective]) -> Bool,
                      responsive: [MemberID], watch: String) -> (sent: [(ProtocolTime, MemberGossip)], now: ProtocolTime) {
        var now = start
        var sent: [(ProtocolTime, MemberGossip)] = []
        while now < start + .seconds(120) {
            now = a.nextDeadline
            var directives = a.tick(now: now)
            var answers: [SWIMDirective] = []
            for directive in directives {
                guard case let .send(packet, to, _) = directive else { continue }
                if to == watch, case .none = packet.probe { sent += packet.gossip.map { (now, $0) } }
                if case let .ping(sequence, target) = packet.probe, let member = responsive.first(where: { $0 == target }) {
                    let ack = MembershipPacket(sender: member, senderAddress: to, probe: .ack(sequence: sequence), gossip: [])
                    answers += a.receive(ack, from: to, now: now + .milliseconds(1))
                }
            }
            directives += answers
            if end(now, directives) { break }
        }
        return (sent, now)
    }

    @Test("given news that c is suspect at an incarnation c already refuted, then the sender is told c's newer state")
    func staleSuspicionIsCorrected() {
        var a = Self.member(c: 3)
        let stale = MemberGossip(member: Self.c, address: "c:1", state: MemberState(.suspect, Incarnation(2)), meta: nil, accuser: "b")
        let directives = a.receive(MembershipPacket(sender: Self.b, senderAddress: "b:1", probe: .none, gossip: [stale]),
                                   from: "b:1", now: .millis(10))
        let answer = Self.gossip(in: directives, to: "b:1")
        #expect(answer.contains { $0.member == Self.c && $0.state == MemberState(.alive, Incarnation(3)) })
        #expect(a.members["c"]?.state == MemberState(.alive, Incarnation(3)), "the stale news changes nothing here")
    }

    @Test("given the same stale news without Lifeguard, nothing is answered (plain SWIM)")
    func plainSWIMDoesNotCorrect() {
        var a = Self.member(c: 3, lifeguard: false)
        let stale = MemberGossip(member: Self.c, address: "c:1", state: MemberState(.suspect, Incarnation(2)), meta: nil, accuser: "b")
        let directives = a.receive(MembershipPacket(sender: Self.b, senderAddress: "b:1", probe: .none, gossip: [stale]),
                                   from: "b:1", now: .millis(10))
        #expect(Self.gossip(in: directives, to: "b:1").isEmpty)
    }

    @Test("given a suspicion of this member, then it refutes with a higher incarnation and the accuser hears it first")
    func refutationAnswersTheAccuser() {
        var a = Self.member()
        let accusation = MemberGossip(member: Self.me, address: "a:1", state: MemberState(.suspect, .zero), meta: nil, accuser: "b")
        let directives = a.receive(MembershipPacket(sender: Self.b, senderAddress: "b:1", probe: .none, gossip: [accusation]),
                                   from: "b:1", now: .millis(10))
        #expect(a.incarnation == Incarnation(1))
        #expect(Self.gossip(in: directives, to: "b:1").contains { $0.member == Self.me && $0.state == MemberState(.alive, Incarnation(1)) })
    }

    @Test("given a suspicion of this member, then one refutation is counted; the same news again, already refuted, counts none")
    func refutationsAreCounted() {
        var a = Self.member()
        let accusation = MemberGossip(member: Self.me, address: "a:1", state: MemberState(.suspect, .zero), meta: nil, accuser: "b")
        let packet = MembershipPacket(sender: Self.b, senderAddress: "b:1", probe: .none, gossip: [accusation])
        _ = a.receive(packet, from: "b:1", now: .millis(10))
        #expect(a.counters.refutations == 1)
        _ = a.receive(packet, from: "b:1", now: .millis(20))
        #expect(a.counters.refutations == 1)
    }

    @Test("given members that never answer, when probe rounds run, then each round is counted as a probe, its unanswered direct ping as an indirect probe, and its end without an ack as a failed probe")
    func probeRoundsAreCounted() {
        var a = Self.member()
        var now = ProtocolTime.zero
        while a.counters.failedProbes < 2 {
            now = a.nextDeadline
            _ = a.tick(now: now)
        }
        let counters = a.counters
        #expect(counters.probes >= 2 && counters.probes <= 3, "a third round may have started as the second ended")
        #expect(counters.indirectProbes == 2)
        #expect(counters.failedProbes == 2)
        #expect(counters.refutations == 0)
    }

    @Test("given a lone suspicion that comes due, then it is announced again and the suspect gets one more probe interval")
    func loneSuspicionIsRechecked() {
        var a = Self.member()
        let accusation = MemberGossip(member: Self.c, address: "c:1", state: MemberState(.suspect, .zero), meta: nil, accuser: "b")
        _ = a.receive(MembershipPacket(sender: Self.b, senderAddress: "b:1", probe: .none, gossip: [accusation]), from: "b:1", now: .zero)
        #expect(a.members["c"]?.state.status == .suspect)
        // c acks every ping (it is alive) but its refutation never reached a. With 5 members a
        // lone suspicion runs 24 s.
        let (sent, now) = Self.drive(&a, from: .zero, until: { now, _ in now >= .millis(24_000) }, responsive: [Self.b, Self.c, Self.d, Self.e], watch: "c:1")
        #expect(a.members["c"]?.state.status == .suspect, "not dead when the timer first runs out")
        let toldAfterTimeout = sent.contains { time, news in
            time >= ProtocolTime.millis(24_000) && news.member == Self.c && news.state.status == .suspect
        }
        #expect(toldAfterTimeout, "the suspect is told")
        // c answers with its refutation: the suspicion ends.
        let refutation = MemberGossip(member: Self.c, address: "c:1", state: MemberState(.alive, Incarnation(1)), meta: [])
        _ = a.receive(MembershipPacket(sender: Self.c, senderAddress: "c:1", probe: .none, gossip: [refutation]), from: "c:1", now: now + .milliseconds(100))
        #expect(a.members["c"]?.state == MemberState(.alive, Incarnation(1)))
    }

    @Test("given a lone suspicion and a silent suspect, then it is declared dead one probe interval after the timer ran out")
    func silentSuspectDies() {
        var a = Self.member()
        let accusation = MemberGossip(member: Self.c, address: "c:1", state: MemberState(.suspect, .zero), meta: nil, accuser: "b")
        _ = a.receive(MembershipPacket(sender: Self.b, senderAddress: "b:1", probe: .none, gossip: [accusation]), from: "b:1", now: .zero)
        let (sent, deadAt) = Self.drive(&a, from: .zero, until: { _, directives in
            directives.contains { if case .event(.dead(let member)) = $0 { member.id == Self.c } else { false } }
        }, responsive: [Self.b, Self.d, Self.e], watch: "c:1")
        #expect(a.members["c"]?.state.status == .dead)
        let recheckedOneIntervalBefore = sent.contains { time, news in
            deadAt - time == .seconds(1) && news.member == Self.c && news.state.status == .suspect
        }
        #expect(recheckedOneIntervalBefore, "dead one probe interval after the suspicion was announced to it again")
    }

    @Test("given three members, when one is suspected, then no confirmation is awaited: the minimum timeout applies")
    func smallClusterUsesTheMinimum() {
        var settings = SWIMSettings.lan
        settings.lifeguard = true
        var a = SWIMInstance(me: Self.me, address: "a:1", settings: settings, random: ProtocolRandom(seed: 7), now: .zero)
        let news = [
            MemberGossip(member: Self.b, address: "b:1", state: MemberState(.alive, .zero), meta: []),
            MemberGossip(member: Self.c, address: "c:1", state: MemberState(.suspect, .zero), meta: nil, accuser: "b"),
        ]
        _ = a.receive(MembershipPacket(sender: Self.b, senderAddress: "b:1", probe: .none, gossip: news), from: "b:1", now: .zero)
        let (_, deadAt) = Self.drive(&a, from: .zero, until: { _, directives in
            directives.contains { if case .event(.dead(let member)) = $0 { member.id == Self.c } else { false } }
        }, responsive: [Self.b], watch: "c:1")
        // Only b could confirm, and k = 2: memberlist's rule sets k = 0, so min = 4 s, not 24 s.
        #expect(deadAt == .millis(4_000))
    }
}

/// How a joining member makes itself known.
@Suite("Joining")
struct JoiningTests {
    @Test("given a member that joins through a seed, then it gossips its own alive news from its first gossip round")
    func joinerGossipsItself() {
        let me = SuspicionRulesTests.me, seed = SuspicionRulesTests.b
        var a = SWIMInstance(me: me, address: "a:1", settings: .lan, random: ProtocolRandom(seed: 3), now: .zero)
        // When: it joins, and the seed's answer tells it of the seed and another member
        let join = a.join(seeds: ["b:1"], now: .zero)
        #expect(join.contains { if case .sync(_, "b:1") = $0 { true } else { false } })
        let known = [MemberGossip(member: seed, address: "b:1", state: MemberState(.alive, .zero), meta: []),
                     MemberGossip(member: SuspicionRulesTests.c, address: "c:1", state: MemberState(.alive, .zero), meta: [])]
        _ = a.receive(MembershipPacket(sender: seed, senderAddress: "b:1", probe: .none, gossip: known), from: "b:1", now: .zero)
        // Then: the gossip it sends in its first round carries its own alive news
        var now = ProtocolTime.zero
        var told: [MemberGossip] = []
        while told.isEmpty && now < .seconds(1) {
            now = a.nextDeadline
            let directives = a.tick(now: now)
            told = ["b:1", "c:1"].flatMap { SuspicionRulesTests.gossip(in: directives, to: $0) }.filter { $0.member == me }
        }
        #expect(told.first?.state == MemberState(.alive, .zero))
        #expect(now <= .millis(200), "within one gossip interval (\(now))")
    }
}
