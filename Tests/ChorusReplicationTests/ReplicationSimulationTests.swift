import ChorusCore
import ChorusReplication
import ChorusSimulation
import ChorusTestSupport
import ChorusWire
import Testing

/// Replicas in the simulator, with every message subject to loss, duplication and reordering, and
/// with partitions and crashes. Each spec prints its seed; `CHORUS_SEED` replays one.
@Suite("Replication in simulation", .timeLimit(.minutes(5)), .onSimulationThread)
struct ReplicationSimulationTests {
    /// A run: `count` replicas, writes to `keys` keys at random for `writing`, faults chosen by the
    /// seed; then every fault heals and the replicas get `settling` to agree.
    struct Scenario {
        var count = 4
        var keys = 30
        var writing: Duration = .seconds(20)
        var writesPerSecond = 400
        var faults = LinkFaults(loss: 0.05, delay: .microseconds(200) ... .milliseconds(2), duplication: 0.03, reordering: 0.1)
        var partitions = true
        var crashes = true
        var settings = ReplicationSettings(digestInterval: .milliseconds(100), settleTime: .milliseconds(200),
                                           logCapacity: 400, minRetention: .seconds(1))
    }

    struct Outcome {
        var states: [TestState]
        var acknowledged: [TestDelta]
        var written: [TestDelta]
        var converged: Bool
        var snapshots: UInt64
        var crashes: Int
    }

    static func run(_ scenario: Scenario, seed: UInt64) -> Outcome {
        let simulation = Simulation<SimulatedReplica>(seed: seed, defaultLink: scenario.faults)
        let settings = scenario.settings
        for _ in 0..<scenario.count {
            simulation.addNode { address, random in
                SimulatedReplica(address: address, count: scenario.count, random: &random, restored: TestState(), settings: settings)
            }
        }
        var random = ProtocolRandom(seed: seed ^ 0x5EED)
        var acknowledged: [TestDelta] = []
        var written: [TestDelta] = []
        var crashes = 0
        var snapshots: UInt64 = 0
        let step: Duration = .milliseconds(10)
        let writesPerStep = max(1, scenario.writesPerSecond / 100)
        var elapsed: Duration = .zero
        var partitionedUntil: Duration?
        func collect() {
            for address in simulation.addresses {
                simulation.withNode(address) { node in
                    acknowledged += node.acknowledged
                    node.acknowledged.removeAll()
                }
            }
        }
        while elapsed < scenario.writing {
            for _ in 0..<writesPerStep {
                let address = SimAddress(index: Int(random.next() % UInt64(scenario.count)))
                let key = TestKey("k\(random.next() % UInt64(scenario.keys))")
                let value: TestValue? = random.nextUnit() < 0.1 ? nil : TestValue(random.next() % 1000)
                simulation.call(address) { node, effects in
                    written.append(node.write(key, value, effects: &effects))
                }
            }
            simulation.run(for: step)
            elapsed += step
            collect()
            // Faults, chosen by the seed: a partition now and then, a crash and restart now and then.
            if scenario.partitions, partitionedUntil == nil, random.nextUnit() < 0.004 {
                let cut = 1 + Int(random.next() % UInt64(scenario.count - 1))
                let order = simulation.addresses.shuffled(using: &random)
                simulation.partition([Array(order[..<cut]), Array(order[cut...])])
                partitionedUntil = elapsed + .milliseconds(500 + Int64(random.next() % 2_000))
            } else if let until = partitionedUntil, elapsed >= until {
                simulation.heal()
                partitionedUntil = nil
            }
            if scenario.crashes, random.nextUnit() < 0.003 {
                let victim = SimAddress(index: Int(random.next() % UInt64(scenario.count)))
                // A few writes just before the crash, some of them not committed yet: those are lost
                // unacknowledged (unless their deltas left first).
                for _ in 0..<5 {
                    let key = TestKey("k\(random.next() % UInt64(scenario.keys))")
                    simulation.call(victim) { node, effects in written.append(node.write(key, TestValue(random.next() % 1000), effects: &effects)) }
                    simulation.run(for: .microseconds(Int64(random.next() % 3_000)))
                }
                collect()
                if let disk = simulation.withNode(victim, { node in
                    snapshots += node.instance.counters.snapshotsReceived
                    return node.persisted
                }) {
                    simulation.crash(victim)
                    crashes += 1
                    simulation.run(for: .milliseconds(Int64(random.next() % 300)))
                    simulation.restart(victim) { address, random in
                        SimulatedReplica(address: address, count: scenario.count, random: &random, restored: disk, settings: settings)
                    }
                }
            }
        }
        simulation.heal()
        if partitionedUntil != nil { partitionedUntil = nil }
        simulation.setDefaultLink(LinkFaults(loss: 0.05, delay: scenario.faults.delay))
        let converged = simulation.run(until: {
            let states = simulation.addresses.compactMap { simulation.node($0)?.instance.state }
            return states.count == scenario.count && states.allSatisfy { $0 == states[0] }
        }, timeout: .seconds(60))
        collect()
        let states = simulation.addresses.compactMap { simulation.node($0)?.instance.state }
        for address in simulation.addresses { snapshots += simulation.node(address)?.instance.counters.snapshotsReceived ?? 0 }
        return Outcome(states: states, acknowledged: acknowledged, written: written, converged: converged,
                       snapshots: snapshots, crashes: crashes)
    }

    /// The acknowledged writes that are not seen everywhere, or whose value is gone without a write
    /// that saw it replacing it (any write counts, acknowledged or not: one that reached a peer
    /// before its node died took effect).
    static func lostWrites(_ outcome: Outcome) -> [TestDelta] {
        // Only writes that took effect count (a write lost with its node replaced nothing).
        let replaced = Set(outcome.written.filter { write in outcome.states.allSatisfy { $0.context.contains(write.dot) } }
            .flatMap(\.removed))
        return outcome.acknowledged.filter { write in
            guard outcome.states.allSatisfy({ $0.context.contains(write.dot) }) else { return true }
            guard write.value != nil, !replaced.contains(write.dot) else { return false }
            return !outcome.states.allSatisfy { $0[write.key]?.contains(write.dot) ?? false }
        }
    }

    @Test("given 4 replicas writing 30 keys for 20 s under 5% loss, duplication, reordering, partitions and crashes, then all replicas end equal and no acknowledged write is lost",
          arguments: [UInt64(1), 2, 3])
    func convergeUnderFaults(fixed: UInt64) {
        let seed = testSeed("convergeUnderFaults", fixed: fixed)
        let outcome = Self.run(Scenario(), seed: seed)
        let lost = Self.lostWrites(outcome)
        print("convergeUnderFaults: seed \(seed): \(outcome.acknowledged.count) acknowledged of \(outcome.written.count) written, \(outcome.crashes) crashes, \(outcome.snapshots) snapshots received, converged \(outcome.converged), \(lost.count) lost")
        let (converged, replicas, acknowledged) = (outcome.converged, outcome.states.count, outcome.acknowledged.count)
        if !converged {
            for (index, state) in outcome.states.enumerated() {
                print("  replica \(index): \(state.keyCount) keys, context \(state.context)")
            }
            for key in Set(outcome.states.flatMap(\.entries.keys)) where !outcome.states.allSatisfy({ $0[key] == outcome.states[0][key] }) {
                print("  \(key): " + outcome.states.map { "\($0[key]?.sorted.map { "\($0.dot)=\($0.value.number)" } ?? [])" }.joined(separator: " | "))
                for dot in Set(outcome.states.flatMap { $0[key]?.dots ?? [] }) {
                    let replacing = outcome.written.filter { $0.removed.contains(dot) }.map { "\($0.dot) (acknowledged: \(outcome.acknowledged.contains($0)))" }
                    print("    \(dot) replaced by \(replacing)")
                }
            }
        }
        #expect(converged)
        #expect(replicas == 4)
        #expect(lost.isEmpty, "lost: \(lost.prefix(5).map { "\($0.key) \($0.dot)" })")
        #expect(acknowledged > 5_000)
    }
}
