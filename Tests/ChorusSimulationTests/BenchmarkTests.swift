#if canImport(Glibc)
import Glibc
#endif
import ChorusCore
import ChorusSimulation
import ChorusTestSupport
import Testing

/// Prints (never asserts) the simulator's speed on a synthetic workload: 1,000 nodes, each pinging a
/// random peer every 10 ms and answering pings. `CHORUS_SIM_BENCH_SECONDS` sets the simulated time
/// (default 0.5 s, to keep the debug test run short).
@Suite(.onSimulationThread) struct BenchmarkTests {
    @Test("1,000-node ping-pong: events per second (printed)")
    func pingPong() {
        let seed = testSeed("pingPong", fixed: 0xBE7C)
        let simulated = Double(environment("CHORUS_SIM_BENCH_SECONDS") ?? "") ?? 0.5
        let (events, wall, pongs) = Self.run(seed: seed, nodes: 1_000, seconds: simulated)
        let perSecond = Double(events) / wall
        print("ping-pong, 1000 nodes, \(simulated) simulated s: \(events) events in \(wall) s wall = \(Int(perSecond)) events/s (\(pongs) pongs)")
        #expect(pongs > 0)
    }

    static func run(seed: UInt64, nodes: Int, seconds: Double) -> (events: Int, wall: Double, pongs: Int) {
        let sim = Simulation<PingPong>(seed: seed)
        for _ in 0 ..< nodes {
            sim.addNode { _, random in PingPong(random: SimulationRandom(seed: random.next()), count: nodes, interval: .milliseconds(10)) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        sim.run(for: .nanoseconds(Int64(seconds * 1e9)))
        let elapsed = clock.now - start
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let pongs = sim.addresses.reduce(0) { $0 + (sim.node($1)?.pongs ?? 0) }
        return (sim.stats.events, wall, pongs)
    }
}

func environment(_ name: String) -> String? {
    guard let raw = getenv(name) else { return nil }
    return String(cString: raw)
}
