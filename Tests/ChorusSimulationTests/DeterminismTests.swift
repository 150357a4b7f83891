import ChorusCore
import ChorusSimulation
import ChorusTestSupport
import Testing

@Suite struct DeterminismTests {
    /// A busy scenario touching every rule: faulty links, both transports, a partition, a crash and a
    /// restart, a pause, a slow member. Returns the full input trace, its digest and the stats.
    static func scenario(seed: UInt64) -> (trace: [SimulationTraceEvent], digest: UInt64, stats: SimulationStats, pongs: [Int]) {
        let sim = Simulation<Probe>(
            seed: seed, defaultLink: LinkFaults(loss: 0.1, duplication: 0.05, reordering: 0.1),
            connectTimeout: .milliseconds(200))
        final class Box { var events: [SimulationTraceEvent] = [] }
        let box = Box()
        sim.trace = { box.events.append($0) }
        let count = 24
        for index in 0 ..< count {
            sim.addNode { address, random in
                // Each node picks its peers with its own generator.
                let peers = (0 ..< 4).map { _ in SimAddress(index: Int.random(in: 0 ..< count, using: &random)) }
                return Probe(address, peers: peers, pingInterval: .milliseconds(100), transport: index % 3 == 0 ? .reliable : .datagram)
            }
        }
        let a = sim.addresses
        sim.setSlowdown(a[5], factor: 8)
        sim.run(for: .seconds(1))
        sim.partition([Array(a[0 ..< 12]), Array(a[12...])])
        sim.crash(a[3])
        sim.pause(a[4])
        sim.run(for: .seconds(1))
        sim.heal()
        sim.resume(a[4])
        sim.restart(a[3]) { address, _ in Probe(address, peers: [a[0], a[1]], pingInterval: .milliseconds(50), transport: .reliable) }
        sim.run(for: .seconds(1))
        let pongs = a.map { sim.node($0)?.pongs ?? -1 }
        return (box.events, sim.traceDigest, sim.stats, pongs)
    }

    @Test("given the same seed, two runs of a scenario give the identical event trace")
    func sameSeedSameTrace() {
        let seed = testSeed("sameSeedSameTrace", fixed: 0x5EED_0001)
        // When
        let first = Self.scenario(seed: seed)
        let second = Self.scenario(seed: seed)
        // Then
        #expect(first.trace.count > 1_000)
        #expect(first.trace == second.trace)
        #expect(first.digest == second.digest)
        #expect(first.stats == second.stats)
        #expect(first.pongs == second.pongs)
    }

    @Test("given different seeds, the runs differ")
    func differentSeedsDiffer() {
        let seed = testSeed("differentSeedsDiffer", fixed: 0x5EED_0002)
        // When
        let first = Self.scenario(seed: seed)
        let second = Self.scenario(seed: seed &+ 1)
        // Then
        #expect(first.digest != second.digest)
        #expect(first.trace != second.trace)
    }

    @Test("given no faults, every ping of a small cluster gets its pong, and datagrams balance")
    func faultFreeCluster() {
        let seed = testSeed("faultFreeCluster", fixed: 0x5EED_0003)
        let sim = Simulation<Probe>(seed: seed)
        let count = 10
        for _ in 0 ..< count {
            sim.addNode { address, _ in
                Probe(address, peers: (0 ..< count).map(SimAddress.init(index:)).filter { $0 != address }, pingInterval: .milliseconds(100))
            }
        }
        // When: ten rounds of pings, then quiet (pinging stops)
        sim.run(until: .millis(950))
        for address in sim.addresses { sim.withNode(address) { $0.pingInterval = nil } }
        sim.run(for: .seconds(1))
        // Then
        for address in sim.addresses {
            #expect(sim.node(address)?.pongs == 10 * (count - 1))
        }
        let stats = sim.stats
        #expect(stats.datagramsSent == 2 * 10 * count * (count - 1))
        #expect(stats.datagramsDelivered == stats.datagramsSent)
        #expect(stats.datagramsDropped == 0)
        #expect(sim.pendingEvents == 0)
        #expect(sim.now == .millis(1_950))
    }
}
