import ChorusCore
import ChorusSimulation
import ChorusTestSupport
import Testing

@Suite struct WakeTests {
    @Test("given a node added, it is started with one wake-up at the current time")
    func startWake() {
        let seed = testSeed("startWake", fixed: 0x3A4E)
        let sim = Simulation<Probe>(seed: seed)
        sim.run(until: .millis(7))
        // When
        let a = sim.addNode { address, _ in Probe(address) }
        // Then
        #expect(sim.node(a)!.wakes == [.millis(7)])
    }

    @Test("given a wake request in the past, it fires at once")
    func pastWakeFiresAtOnce() {
        let seed = testSeed("pastWakeFiresAtOnce", fixed: 0x3A4F)
        let (sim, n) = probes(1, seed: seed)
        sim.run(until: .seconds(1))
        // When
        sim.call(n[0]) { _, effects in effects.wake(at: .millis(500)) }
        sim.run(for: .zero)
        // Then
        #expect(sim.node(n[0])!.wakes == [.zero, .seconds(1)])
    }

    @Test("given many wake requests, some for the same time, each fires exactly once, never early")
    func manyWakes() {
        let seed = testSeed("manyWakes", fixed: 0x3A50)
        let (sim, n) = probes(1, seed: seed)
        sim.processingCost = .zero
        let requests = (0 ..< 50).map { _ in VirtualTime.millis(10) } + (1 ... 50).map { VirtualTime.millis(UInt64($0)) }
        // When
        sim.call(n[0]) { _, effects in
            for time in requests { effects.wake(at: time) }
        }
        sim.run(for: .seconds(1))
        // Then
        #expect(sim.node(n[0])!.wakes.dropFirst().sorted() == requests.sorted())
        #expect(sim.stats.wakeUps == 101)
    }

    @Test("run(until:timeout:) stops when the condition holds, and reports a timeout otherwise")
    func runUntilCondition() {
        let seed = testSeed("runUntilCondition", fixed: 0x3A51)
        let (sim, n) = probes(2, seed: seed)
        sim.call(n[0]) { _, effects in effects.wake(at: .millis(30)) }
        // When
        let held = sim.run(until: { sim.node(n[0])!.wakes.count == 2 }, timeout: .seconds(1))
        let stopped = sim.now
        let never = sim.run(until: { sim.node(n[1])!.wakes.count == 2 }, timeout: .milliseconds(100))
        // Then
        #expect(held)
        #expect(stopped == .millis(30))
        #expect(!never)
        #expect(sim.now == .millis(130))
    }
}
