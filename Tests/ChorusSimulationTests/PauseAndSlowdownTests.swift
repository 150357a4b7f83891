import ChorusCore
import ChorusSimulation
import ChorusTestSupport
import Testing

@Suite struct PauseAndSlowdownTests {
    @Test("given a paused node, nothing runs while paused; on resume the backlog runs in order, then overdue wake-ups")
    func pauseQueuesBacklog() {
        let seed = testSeed("pauseQueuesBacklog", fixed: 0x9A05)
        let (sim, n) = probes(2, seed: seed)
        sim.call(n[1]) { _, effects in effects.wake(at: .millis(10)) }
        // When
        sim.pause(n[1])
        for k in 0 ..< 6 {
            sim.sendNotes([k], from: n[0], to: n[1], transport: k.isMultiple(of: 2) ? .reliable : .datagram)
            sim.run(for: .milliseconds(1))
        }
        sim.run(until: .millis(50))
        let whilePaused = sim.node(n[1])!.log
        sim.resume(n[1])
        sim.run(for: .milliseconds(5))
        // Then
        #expect(whilePaused == [.woke(at: .zero)])
        let after = sim.node(n[1])!.log.dropFirst()
        let step = Duration.microseconds(20)
        let resumed = VirtualTime.millis(50)
        var expected: [Entry] = (0 ..< 6).map { k in Entry.received(.note(k), from: n[0], at: resumed + step * k) }
        expected.append(.woke(at: resumed + step * 6))
        #expect(Array(after) == expected)
    }

    @Test("given a node slowed down 10x, its inputs queue and finish later, and its answers leave later")
    func slowdown() {
        let seed = testSeed("slowdown", fixed: 0x510E)
        let (sim, n) = probes(3, seed: seed, link: LinkFaults(delay: .milliseconds(1) ... .milliseconds(1)))
        sim.setSlowdown(n[1], factor: 10)
        sim.run(until: .millis(10))
        // When: ten notes then a ping to the slow node and to a normal one, all at once
        for peer in [n[1], n[2]] {
            sim.call(n[0]) { _, effects in
                for k in 0 ..< 10 { effects.send(.note(k), to: peer) }
                effects.send(.ping(7), to: peer)
            }
        }
        sim.run(for: .milliseconds(20))
        // Then: the normal node takes 20µs per input, the slow one 200µs
        let arrival = VirtualTime.millis(11)
        #expect(sim.node(n[2])!.received.map(\.at) == (0 ..< 11).map { arrival + .microseconds(20) * $0 })
        #expect(sim.node(n[1])!.received.map(\.at) == (0 ..< 11).map { arrival + .microseconds(200) * $0 })
        let pongs = sim.node(n[0])!.received
        #expect(pongs.map(\.from) == [n[2], n[1]])
        #expect(pongs.map(\.at) == [arrival + .microseconds(20 * 11) + .milliseconds(1), arrival + .microseconds(200 * 11) + .milliseconds(1)])
    }
}
