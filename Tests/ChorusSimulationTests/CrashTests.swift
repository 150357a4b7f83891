import ChorusCore
import ChorusSimulation
import ChorusTestSupport
import Testing

@Suite struct CrashTests {
    @Test("given a crashed node, datagrams to it are dropped and stream messages are refused after a round trip")
    func crashDropsAndRefuses() {
        let seed = testSeed("crashDropsAndRefuses", fixed: 0xC4A5)
        let (sim, n) = probes(2, seed: seed)
        sim.run(until: .millis(10))
        // When
        sim.crash(n[1])
        sim.sendNotes([1], from: n[0], to: n[1])
        sim.sendNotes([2], from: n[0], to: n[1], transport: .reliable)
        sim.run(for: .seconds(1))
        // Then
        #expect(sim.node(n[1]) == nil)
        #expect(sim.stats.datagramsDropped == 1)
        let failures = sim.node(n[0])!.failures
        #expect(failures.count == 1)
        #expect(failures.first?.note == .note(2))
        #expect(failures.first?.reason == .refused)
        // there and back, 100µs...500µs each way
        #expect(failures.first.map { (.millis(10) + .microseconds(200) ... .millis(10) + .microseconds(1_000)).contains($0.at) } == true)
    }

    @Test("given a restart, a fresh node runs at the same address, and the old one's wake-ups do not reach it")
    func restartGivesFreshNode() {
        let seed = testSeed("restartGivesFreshNode", fixed: 0x4E57)
        let (sim, n) = probes(2, seed: seed)
        sim.sendNotes([1], from: n[0], to: n[1])
        sim.call(n[1]) { _, effects in effects.wake(after: .milliseconds(50)) }
        sim.run(for: .milliseconds(10))
        #expect(sim.node(n[1])!.notes == [1])
        // When
        sim.crash(n[1])
        sim.run(for: .milliseconds(10))
        sim.restart(n[1]) { address, _ in Probe(address) }
        sim.sendNotes([2], from: n[0], to: n[1])
        sim.run(for: .milliseconds(100))
        // Then
        let fresh = sim.node(n[1])!
        #expect(fresh.me == n[1])
        #expect(fresh.notes == [2])
        #expect(fresh.wakes == [.millis(20)])
        #expect(sim.addresses == n)
    }

    @Test("given a stream message sent before a crash and arriving after the restart, it is refused, not delivered to the new process")
    func restartResetsStreams() {
        let seed = testSeed("restartResetsStreams", fixed: 0x4E58)
        let (sim, n) = probes(2, seed: seed)
        // When: the restart happens while the message is on the wire
        sim.sendNotes([1], from: n[0], to: n[1], transport: .reliable)
        sim.restart(n[1]) { address, _ in Probe(address) }
        sim.run(for: .milliseconds(10))
        // Then
        #expect(sim.node(n[1])!.notes.isEmpty)
        #expect(sim.node(n[0])!.failures.map(\.reason) == [.refused])
    }

    @Test("given stream messages waiting in a paused node's inbox, a crash refuses them to their senders")
    func crashRefusesInbox() {
        let seed = testSeed("crashRefusesInbox", fixed: 0x4E59)
        let (sim, n) = probes(2, seed: seed)
        sim.pause(n[1])
        sim.sendNotes(0 ..< 3, from: n[0], to: n[1], transport: .reliable)
        sim.sendNotes([9], from: n[0], to: n[1])
        sim.run(for: .milliseconds(10))
        // When
        sim.crash(n[1])
        sim.run(for: .milliseconds(10))
        // Then
        #expect(sim.node(n[0])!.failures.map(\.note) == [.note(0), .note(1), .note(2)])
        #expect(sim.stats.datagramsDropped == 1)
        #expect(sim.stats.reliableRefused == 3)
    }
}
