import ChorusCore
import ChorusSimulation
import ChorusTestSupport
import Testing

@Suite struct PartitionTests {
    /// Every ordered pair of `nodes` exchanges one datagram; returns the pairs (from, to) that arrived.
    static func exchange(_ sim: Simulation<Probe>, _ nodes: [SimAddress], tag: Int) -> Set<[Int]> {
        for from in nodes {
            for to in nodes where to != from { sim.sendNotes([tag], from: from, to: to) }
        }
        sim.run(for: .milliseconds(10))
        var arrived: Set<[Int]> = []
        for to in nodes {
            for entry in sim.node(to)!.received where entry.note == .note(tag) { arrived.insert([entry.from.index, to.index]) }
        }
        return arrived
    }

    @Test("given a partition, nodes in different groups cannot reach each other either way; heal restores")
    func partitionBothWays() {
        let seed = testSeed("partitionBothWays", fixed: 0x9A27)
        let (sim, n) = probes(4, seed: seed)
        // When
        sim.partition([[n[0]], [n[1], n[2]]])
        let during = Self.exchange(sim, n, tag: 1)
        sim.heal()
        let after = Self.exchange(sim, n, tag: 2)
        // Then: n3 is in no group, so it reaches everyone (a bridge)
        #expect(during == [[1, 2], [2, 1], [0, 3], [3, 0], [1, 3], [3, 1], [2, 3], [3, 2]])
        #expect(after.count == 12)
    }

    @Test("given a one-way cut, only that direction is blocked; heal restores it")
    func cutOneWay() {
        let seed = testSeed("cutOneWay", fixed: 0xC077)
        let (sim, n) = probes(3, seed: seed)
        // When
        sim.cut(from: n[0], to: n[1])
        let during = Self.exchange(sim, n, tag: 1)
        sim.heal()
        let after = Self.exchange(sim, n, tag: 2)
        // Then
        #expect(during == [[1, 0], [0, 2], [2, 0], [1, 2], [2, 1]])
        #expect(after.count == 6)
    }

    @Test("given a partition, a stream message fails with timedOut exactly connectTimeout after it was sent")
    func streamTimesOutAcrossPartition() {
        let seed = testSeed("streamTimesOutAcrossPartition", fixed: 0x7113)
        let sim = Simulation<Probe>(seed: seed, connectTimeout: .milliseconds(300))
        let a = sim.addNode { address, _ in Probe(address) }
        let b = sim.addNode { address, _ in Probe(address) }
        sim.partition([[a], [b]])
        sim.run(until: .millis(5))
        // When
        sim.sendNotes([1, 2], from: a, to: b, transport: .reliable)
        sim.run(for: .seconds(1))
        // Then
        let failures = sim.node(a)!.failures
        #expect(failures.map(\.note) == [.note(1), .note(2)])
        #expect(failures.allSatisfy { $0.peer == b && $0.reason == .timedOut })
        #expect(failures.map(\.at) == [.millis(305), .millis(305) + .microseconds(20)])  // the second waits for the first's cost
        #expect(sim.node(b)!.notes.isEmpty)
        #expect(sim.stats.reliableTimedOut == 2)
    }

    @Test("given messages in flight when a partition starts, the datagram is dropped and the stream message times out connectTimeout after meeting it")
    func streamInFlightTimesOut() {
        let seed = testSeed("streamInFlightTimesOut", fixed: 0x7114)
        let sim = Simulation<Probe>(seed: seed, connectTimeout: .milliseconds(300))
        let a = sim.addNode { address, _ in Probe(address) }
        let b = sim.addNode { address, _ in Probe(address) }
        // When
        sim.sendNotes([1], from: a, to: b, transport: .reliable)
        sim.sendNotes([2], from: a, to: b)
        sim.partition([[a], [b]])
        sim.run(for: .seconds(1))
        // Then: the datagram in flight is dropped; the stream message met the partition on arrival,
        // 100µs...500µs after the send
        #expect(sim.node(b)!.notes.isEmpty)
        #expect(sim.stats.datagramsDropped == 1)
        let failure = sim.node(a)!.failures
        #expect(failure.count == 1)
        #expect(failure.first.map { (.millis(300) + .microseconds(100) ... .millis(300) + .microseconds(500)).contains($0.at) } == true)
    }

    @Test("given a one-way cut, stream messages time out in both directions")
    func streamNeedsBothDirections() {
        let seed = testSeed("streamNeedsBothDirections", fixed: 0x7115)
        let (sim, n) = probes(2, seed: seed)
        sim.cut(from: n[0], to: n[1])
        // When
        sim.sendNotes([1], from: n[1], to: n[0], transport: .reliable)
        sim.run(for: .seconds(2))
        // Then
        #expect(sim.node(n[1])!.failures.map(\.reason) == [.timedOut])
        #expect(sim.node(n[0])!.notes.isEmpty)
    }
}
