import ChorusCore
import ChorusReplication
import ChorusWire
import PropertyBased
import Testing

/// A replica's map and its join.
struct ReplicaStateTests {
    @Test("given a key written twice on one node, then it holds the later value only")
    func writeReplaces() {
        var a = Writer(1)
        a.write("k", 1)
        let second = a.write("k", 2)
        #expect(a.state.numbers("k") == [2])
        #expect(second.removed == [dot(1, 1)])
    }

    @Test("given two nodes writing one key without seeing each other, then after they exchange both values stay, until a write that saw both replaces them")
    func concurrentWritesBothStay() {
        var a = Writer(1), b = Writer(2)
        a.write("k", 5)
        b.write("k", 7)
        a.state.join(b.state)
        b.state.join(a.state)
        #expect(a.state == b.state)
        #expect(a.state.numbers("k") == [5, 7])
        let resolved = a.write("k", 9)
        b.state.apply(resolved)
        #expect(b.state.numbers("k") == [9] && b.state == a.state)
    }

    @Test("given a removal that saw a value and a concurrent write it did not see, then the unseen write survives (add wins)")
    func removalRemovesWhatItSaw() {
        var a = Writer(1), b = Writer(2)
        let first = a.write("k", 1)
        b.state.apply(first)
        let removal = b.write("k", nil)
        let concurrent = a.write("k", 2)
        a.state.apply(removal)
        b.state.apply(concurrent)
        #expect(a.state == b.state)
        #expect(a.state.numbers("k") == [2])
        #expect(removal.value == nil && removal.removed == [dot(1, 1)])
    }

    @Test("given a removal that arrives before the write it removed, then that write, arriving late, does not come back")
    func lateWriteStaysRemoved() {
        var a = Writer(1), b = Writer(2)
        var c = TestState()
        let write = a.write("k", 1)
        b.state.apply(write)
        let removal = b.write("k", nil)
        c.apply(removal)
        let late = c.apply(write)
        #expect(late.isNew == false)
        #expect(c["k"] == nil && c.context.contains(write.dot))
    }

    @Test("given the same delta twice, then the second changes nothing and is not new")
    func duplicateDelta() {
        var a = Writer(1)
        var b = TestState()
        let delta = a.write("k", 3)
        let first = b.apply(delta)
        #expect(first == .init(isNew: true, changed: true, entries: b["k"]))
        #expect(b["k"]?.values == [3])
        let once = b
        let second = b.apply(delta)
        #expect(second == .init(isNew: false, changed: false, entries: b["k"]))
        #expect(b == once)
    }

    // MARK: Properties of the join

    /// One step of a generated history: replica `replica` writes `action` (0...4) to key `key`,
    /// removes it (5), or joins its right neighbour's state (6, so writes see each other).
    typealias Step = (replica: Int, key: Int, action: Int)

    static let histories = zip(Gen.int(in: 0...2), Gen.int(in: 0...3), Gen.int(in: 0...6)).array(of: 0...40)

    /// Runs a history on three replicas; returns their states and every delta written, in order.
    static func run(_ history: [(Int, Int, Int)]) -> (states: [TestState], deltas: [TestDelta]) {
        var writers = (1...3).map { Writer(UInt64($0)) }
        var deltas: [TestDelta] = []
        for (replica, key, action) in history {
            if action == 6 {
                writers[replica].state.join(writers[(replica + 1) % 3].state)
            } else {
                deltas.append(writers[replica].write(TestKey("k\(key)"), action == 5 ? nil : UInt64(action)))
            }
        }
        return (writers.map(\.state), deltas)
    }

    static func join(_ a: TestState, _ b: TestState) -> TestState {
        var result = a
        result.join(b)
        return result
    }

    @Test("property: join is commutative, associative and idempotent over replicas built by random histories")
    func joinIsASemilattice() async {
        await propertyCheck(count: 300, input: Self.histories) { history in
            let (states, _) = Self.run(history)
            let (a, b, c) = (states[0], states[1], states[2])
            #expect(Self.join(a, b) == Self.join(b, a))
            #expect(Self.join(Self.join(a, b), c) == Self.join(a, Self.join(b, c)))
            #expect(Self.join(a, a) == a)
            #expect(Self.join(Self.join(a, b), b) == Self.join(a, b))
        }
    }

    @Test("property: every delta of a history, applied in any order and some twice, gives the join of all replicas")
    func deltasInAnyOrderGiveTheJoin() async {
        await propertyCheck(count: 300, input: Self.histories, Gen.int(in: 0...Int(UInt32.max))) { history, seed in
            let (states, deltas) = Self.run(history)
            let everything = Self.join(Self.join(states[0], states[1]), states[2])
            var random = ProtocolRandom(seed: UInt64(seed))
            var shuffled = deltas.shuffled(using: &random)
            shuffled += deltas.filter { _ in random.nextUnit() < 0.3 }.shuffled(using: &random)
            var replica = TestState()
            for delta in shuffled { replica.apply(delta) }
            #expect(replica == everything)
        }
    }

    @Test("property: a replica's state survives its encoding (what a snapshot and the disk carry)")
    func entriesEncodeCanonically() async throws {
        await propertyCheck(count: 100, input: Self.histories) { history in
            let (states, _) = Self.run(history)
            let everything = Self.join(Self.join(states[0], states[1]), states[2])
            for (key, entries) in everything.entries {
                let bytes = entries.encoded()
                #expect((try? CausalEntries<TestValue>(decoding: bytes)) == entries, "\(key)")
                #expect((try? CausalEntries<TestValue>(decoding: bytes))?.encoded() == bytes)
            }
            #expect((try? CausalContext(decoding: everything.context.encoded())) == everything.context)
        }
    }
}

/// The replication core between replicas wired by hand (no simulator).
struct ReplicationInstanceTests {
    /// Delivers every directive of `from` to the replicas it names, until nothing is left to send.
    static func exchange(_ replicas: inout [TestInstance], now: ProtocolTime) {
        var moved = true
        while moved {
            moved = false
            for index in replicas.indices {
                for directive in replicas[index].takeDirectives() {
                    moved = true
                    let sender = replicas[index].origin
                    switch directive {
                    case let .send(kind, payload, peers):
                        for peer in peers {
                            guard let target = replicas.firstIndex(where: { $0.origin == peer }) else { continue }
                            try! payload.withUnsafeBytes { try replicas[target].receive(kind, payload: $0, from: sender, now: now) }
                        }
                    case .sendSnapshot(var writer, let peer):
                        guard let target = replicas.firstIndex(where: { $0.origin == peer }) else { continue }
                        while let part = writer.nextPart() {
                            try! part.withUnsafeBytes { try replicas[target].receive(.snapshotPart, payload: $0, from: sender, now: now) }
                        }
                        replicas[index].snapshotDone(to: peer)
                    }
                }
            }
        }
    }

    static func linked(_ count: Int, settings: ReplicationSettings = .local) -> [TestInstance] {
        var replicas = (1...count).map { TestInstance(origin: uid(UInt64($0)), settings: settings, now: .zero) }
        for a in replicas.indices { for b in replicas.indices where a != b { replicas[a].peerUp(replicas[b].origin) } }
        exchange(&replicas, now: .zero)
        return replicas
    }

    @Test("given three linked replicas, when one writes, then the others have the write after one exchange, pushed in one message each")
    func pushes() {
        var replicas = Self.linked(3)
        for number in 1...100 { replicas[0].write(TestKey("k\(number % 7)"), TestValue(UInt64(number)), now: .zero) }
        let directives = replicas[0].takeDirectives()
        #expect(directives.count == 1)
        guard case let .send(kind, payload, peers) = directives.first else { Issue.record("no push"); return }
        #expect(kind == .deltas && peers == [uid(2), uid(3)])
        for target in 1...2 { try! payload.withUnsafeBytes { try replicas[target].receive(.deltas, payload: $0, from: uid(1), now: .zero) } }
        #expect(replicas[1].state == replicas[0].state && replicas[2].state == replicas[0].state)
        #expect(replicas[1].state.numbers("k2") == [100])
    }

    @Test("given two linked replicas, when one writes, then its peer's backlog holds the writes and the oldest one's time until the peer's digest acknowledges them; a node that is not a peer has none")
    func backlogUntilAcknowledged() {
        var replicas = Self.linked(2)
        #expect(replicas[0].backlog(of: uid(2)) == ReplicationBacklog())
        replicas[0].write("a", 1, now: .millis(10))
        replicas[0].write("b", 2, now: .millis(30))
        // The push is delivered, but the peer has not said so yet.
        Self.exchange(&replicas, now: .millis(30))
        #expect(replicas[1].state == replicas[0].state)
        #expect(replicas[0].backlog(of: uid(2)) == ReplicationBacklog(writes: 2, oldestAppliedAt: .millis(10)))
        #expect(replicas[0].backlog(of: uid(7)) == nil)
        // When: the peer's periodic digest comes round
        replicas[1].tick(now: .millis(30) + ReplicationSettings.local.digestInterval)
        Self.exchange(&replicas, now: .millis(30) + ReplicationSettings.local.digestInterval)
        // Then
        #expect(replicas[0].backlog(of: uid(2)) == ReplicationBacklog())
    }

    @Test("given a replica that missed the write replacing its entry, when the write after it arrives first, then it waits, and once the missed one arrives the entry is gone")
    func deltasWaitForWhatTheyReplaced() throws {
        var a = TestInstance(origin: uid(1), settings: .local, now: .zero)
        var r = TestInstance(origin: uid(9), settings: .local, now: .zero)
        a.peerUp(uid(9))
        r.peerUp(uid(1))
        _ = a.takeDirectives()
        _ = r.takeDirectives()
        let first = a.write("k", 1, now: .zero)
        let second = a.write("k", 2, now: .zero)
        let third = a.write("k", 3, now: .zero)
        r.receive(ReplicaDeltas([first]), from: uid(1), now: .zero)
        // When: the third (replacing the second) comes before the second (replacing the first)
        r.receive(ReplicaDeltas([third]), from: uid(1), now: .zero)
        #expect(r.waitingDeltas == 1)
        #expect(r.state.numbers("k") == [1])
        #expect(!r.state.context.contains(second.dot))
        r.receive(ReplicaDeltas([second]), from: uid(1), now: .zero)
        // Then
        #expect(r.waitingDeltas == 0)
        #expect(r.state == a.state && r.state.numbers("k") == [3])
    }

    @Test("given a replica that joins late, when the others' logs no longer hold the first writes, then it gets a snapshot, and then deltas again")
    func lateReplicaGetsASnapshot() {
        let settings = ReplicationSettings(digestInterval: .milliseconds(100), settleTime: .milliseconds(200), logCapacity: 10)
        var replicas = Self.linked(2, settings: settings)
        for number in 1...50 { replicas[0].write(TestKey("k\(number)"), TestValue(UInt64(number)), now: .zero) }
        Self.exchange(&replicas, now: .zero)
        // When
        var late = TestInstance(origin: uid(3), settings: settings, now: .zero)
        late.peerUp(uid(1))
        replicas[0].peerUp(uid(3))
        replicas.append(late)
        Self.exchange(&replicas, now: .millis(1))
        // Then
        #expect(replicas[2].state == replicas[0].state && replicas[2].state.keyCount == 50)
        #expect(replicas[0].counters.snapshotsSent == 1 && replicas[2].counters.snapshotsReceived == 1)
        replicas[0].write("k1", 99, now: .millis(2))
        Self.exchange(&replicas, now: .millis(2))
        #expect(replicas[2].state.numbers("k1") == [99])
    }

    @Test("given linked replicas that saw every write, when digests go round after the retention time, then their logs are emptied; a full log keeps its newest")
    func logCollection() {
        let settings = ReplicationSettings(digestInterval: .milliseconds(100), settleTime: .milliseconds(200), logCapacity: 30,
                                           minRetention: .seconds(1))
        var replicas = Self.linked(3, settings: settings)
        for number in 1...40 { replicas[number % 3].write(TestKey("k\(number)"), TestValue(UInt64(number)), now: .zero) }
        Self.exchange(&replicas, now: .zero)
        #expect(replicas.allSatisfy { $0.loggedDeltas == 30 })
        // When
        for time in [ProtocolTime.millis(500), .millis(1_200), .millis(1_400)] {
            for index in replicas.indices { replicas[index].tick(now: time) }
            Self.exchange(&replicas, now: time)
        }
        // Then
        #expect(replicas.map(\.loggedDeltas) == [0, 0, 0])
    }

    @Test("given a malformed replication payload, then receive throws and the replica is unchanged")
    func malformedPayload() {
        var replicas = Self.linked(2)
        replicas[0].write("k", 1, now: .zero)
        let before = replicas[1].state
        let garbage: [UInt8] = [0, 0, 0, 5, 1, 2, 3]
        for kind in [ReplicationMessageKind.digest, .deltas, .snapshotPart] {
            #expect(throws: WireError.self) {
                try garbage.withUnsafeBytes { try replicas[1].receive(kind, payload: $0, from: uid(1), now: .zero) }
            }
        }
        #expect(replicas[1].state == before)
    }
}
