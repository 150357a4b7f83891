import ChorusCore
import ChorusReplication
import ChorusWire
import Testing

/// Periodic digests go only where there is news: an idle cluster sends almost none, and a lost push
/// is still repaired.
@Suite("Replication: digests only when there is news")
struct QuietDigestTests {
    static let settings = ReplicationSettings(digestInterval: .milliseconds(100), settleTime: .milliseconds(200),
                                              minRetention: .seconds(1))

    /// Two replicas linked to each other; messages between them are delivered (or dropped) by hand.
    struct Pair {
        var replicas: [NodeUID: TestInstance]
        var now = ProtocolTime.zero
        /// Digests sent, by sender, and whether each asked for a reply.
        var digests: [(from: NodeUID, wantsReply: Bool)] = []

        init() {
            replicas = [uid(1): TestInstance(origin: uid(1), settings: QuietDigestTests.settings, now: .zero),
                        uid(2): TestInstance(origin: uid(2), settings: QuietDigestTests.settings, now: .zero)]
            replicas[uid(1)]!.peerUp(uid(2))
            replicas[uid(2)]!.peerUp(uid(1))
            deliver()
            digests = []
        }

        /// Delivers every message in flight, and those they cause, unless `drop` says no.
        mutating func deliver(dropping drop: (ReplicationMessageKind, NodeUID) -> Bool = { _, _ in false }) {
            var progress = true
            while progress {
                progress = false
                for from in [uid(1), uid(2)] {
                    for directive in replicas[from]!.takeDirectives() {
                        guard case .send(let kind, let payload, let targets) = directive else { continue }
                        if kind == .digest {
                            digests.append((from, (try? ReplicaDigest(decoding: payload))?.wantsReply ?? false))
                        }
                        for target in targets where !drop(kind, from) {
                            payload.withUnsafeBytes { bytes in
                                try! replicas[target]!.receive(kind, payload: bytes, from: from, now: now)
                            }
                            progress = true
                        }
                    }
                }
            }
        }

        /// Advances the clock by `duration` in steps of 10 ms, ticking both replicas and delivering.
        mutating func run(for duration: Duration, dropping drop: (ReplicationMessageKind, NodeUID) -> Bool = { _, _ in false }) {
            let end = now + duration
            while now < end {
                now += .milliseconds(10)
                for id in [uid(1), uid(2)] { replicas[id]!.tick(now: now) }
                deliver(dropping: drop)
            }
        }

        mutating func write(on origin: UInt64, _ key: TestKey, _ value: UInt64) {
            replicas[uid(origin)]!.write(key, TestValue(value), now: now)
        }
    }

    @Test("given two replicas in sync and idle, when nine digest intervals pass, then neither sends a digest; within the quiet interval each sends one")
    func idleReplicasStayQuiet() {
        var pair = Pair()
        pair.run(for: .milliseconds(900))
        #expect(pair.digests.isEmpty)
        pair.run(for: .milliseconds(200))
        #expect(pair.digests.count == 2)
        #expect(Set(pair.digests.map(\.from)) == [uid(1), uid(2)])
    }

    @Test("given idle replicas, when one writes, then both tell the other their new context at the next digest and fall quiet again")
    func aWriteIsNews() {
        var pair = Pair()
        pair.run(for: .milliseconds(300))
        pair.write(on: 1, "k", 7)
        pair.run(for: .milliseconds(150))
        #expect(pair.replicas[uid(2)]!.state.numbers("k") == [7])
        #expect(Set(pair.digests.map(\.from)) == [uid(1), uid(2)], "each applied a new write, so each has news")
        let told = pair.digests.count
        pair.run(for: .milliseconds(500))
        #expect(pair.digests.count == told)
    }

    @Test("given a write whose push is lost and a receiver with no news of its own, then the writer asks for a digest once the write has settled and repairs the receiver")
    func aLostPushIsRepaired() {
        var pair = Pair()
        pair.write(on: 1, "k", 9)
        pair.run(for: .milliseconds(10), dropping: { kind, from in kind == .deltas && from == uid(1) })
        #expect(pair.replicas[uid(2)]!.state.numbers("k") == [])
        pair.run(for: .milliseconds(400))
        #expect(pair.replicas[uid(2)]!.state.numbers("k") == [9])
        #expect(pair.digests.contains { $0.from == uid(1) && $0.wantsReply }, "the writer asked the receiver for its digest")
        #expect(pair.replicas[uid(1)]!.backlog(of: uid(2)) == ReplicationBacklog())
    }
}
