import ChorusCore
import ChorusMembership
import ChorusSimulation
import ChorusTestSupport
import ChorusWire
import ChorusMembershipSimulation
import Testing

/// SWIM + Lifeguard in the deterministic simulator. Every test prints its seed; rerun one with
/// CHORUS_SEED=<seed>.
// The limit counts the wait for the simulation thread too: the specs run one after another.
@Suite("SWIM in simulation", .timeLimit(.minutes(20)), .onSimulationThread)
struct SWIMSimulationTests {
    @Test("given 30 members joining through one seed, then every member sees all 30 alive")
    func convergence() {
        let cluster = SimulatedCluster(seed: testSeed("convergence", fixed: 1), size: 30)
        let converged = cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60))
        #expect(converged, "views: \(cluster.views().mapValues { $0.count })")
        print("convergence: all views full after \(cluster.simulation.now)")
        cluster.simulation.run(for: .seconds(60))
        #expect(cluster.allSee(alive: cluster.allNames), "the view stays full")
        #expect(cluster.deadDeclarations().isEmpty)
    }

    @Test("given a converged cluster, when a member crashes, then every survivor declares it dead")
    func crashIsDetected() {
        let cluster = SimulatedCluster(seed: testSeed("crashIsDetected", fixed: 2), size: 20)
        #expect(cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60)))
        let victim = cluster.simulation.addresses[7]
        let crashedAt = cluster.simulation.now
        cluster.simulation.crash(victim)
        let survivors = cluster.simulation.addresses.filter { $0 != victim }
        let detected = cluster.simulation.run(until: {
            cluster.views(of: survivors).values.allSatisfy { $0[cluster.name(victim)] == .dead }
        }, timeout: .seconds(60))
        #expect(detected)
        print("crashIsDetected: dead everywhere \(cluster.simulation.now - crashedAt) after the crash")
        #expect(Set(cluster.deadDeclarations()) == [cluster.name(victim)], "nobody else is declared dead")
    }

    @Test("given lan timers, when a member is paused for 2 s, then nobody declares anyone dead")
    func shortPauseIsNotDeath() {
        let cluster = SimulatedCluster(seed: testSeed("shortPauseIsNotDeath", fixed: 3), size: 20)
        #expect(cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60)))
        let sleeper = cluster.simulation.addresses[3]
        cluster.simulation.pause(sleeper)
        cluster.simulation.run(for: .seconds(2))
        cluster.simulation.resume(sleeper)
        cluster.simulation.run(for: .seconds(60))
        #expect(cluster.deadDeclarations().isEmpty)
        #expect(cluster.allSee(alive: cluster.allNames))
    }

    @Test("given a 50/50 partition for 60 s, when it heals, then the cluster is one again without help")
    func partitionHeals() {
        let cluster = SimulatedCluster(seed: testSeed("partitionHeals", fixed: 4), size: 20)
        #expect(cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60)))
        let addresses = cluster.simulation.addresses
        let left = Array(addresses.prefix(10)), right = Array(addresses.suffix(10))
        cluster.simulation.partition([left, right])
        cluster.simulation.run(for: .seconds(60))
        #expect(cluster.allSee(alive: Set(left.map(cluster.name)), among: left), "each side sees itself")
        #expect(cluster.views(of: left).values.allSatisfy { view in right.allSatisfy { view[cluster.name($0)] == .dead } })
        cluster.simulation.heal()
        let healedAt = cluster.simulation.now
        let merged = cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(120))
        #expect(merged, "views: \(cluster.views().mapValues { $0.values.filter { $0 == .alive }.count })")
        print("partitionHeals: one cluster again \(cluster.simulation.now - healedAt) after the heal")
    }

    @Test("given every member restarted at once with the same names, then no member believes another is dead")
    func massRestart() {
        let cluster = SimulatedCluster(seed: testSeed("massRestart", fixed: 5), size: 12)
        #expect(cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60)))
        let addresses = cluster.simulation.addresses
        for address in addresses { cluster.simulation.crash(address) }
        cluster.simulation.run(for: .seconds(1))
        for address in addresses { cluster.restart(address, seeds: [addresses[0], addresses[1]]) }
        let recovered = cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(120))
        #expect(recovered, "views: \(cluster.views().mapValues { $0.filter { $0.value != .alive } })")
    }

    @Test("given no reconnection to dead members, a healed partition stays split (the mechanism is what merges it)")
    func withoutReconnectPartitionStaysSplit() {
        var settings = SWIMSettings.lan
        settings.reconnectInterval = .seconds(3600)
        let cluster = SimulatedCluster(seed: testSeed("withoutReconnect", fixed: 4), size: 20, settings: settings)
        #expect(cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60)))
        let addresses = cluster.simulation.addresses
        cluster.simulation.partition([Array(addresses.prefix(10)), Array(addresses.suffix(10))])
        cluster.simulation.run(for: .seconds(60))
        cluster.simulation.heal()
        cluster.simulation.run(for: .seconds(120))
        #expect(!cluster.allSee(alive: cluster.allNames))
    }

    @Test("given 1,000 members joining through one seed, then every member reaches the same full view")
    func thousandMembersConverge() {
        let cluster = SimulatedCluster(seed: testSeed("thousandMembersConverge", fixed: 1_000), size: 1_000)
        let converged = cluster.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(300), every: .seconds(1))
        #expect(converged)
        print("thousandMembersConverge: 1,000 identical full views after \(cluster.simulation.now)")
    }

    /// 10% loss on every link, both ways, among 200 members for 10 minutes: about one probe in 130
    /// fails (direct ping and all three indirect paths), so the run raises hundreds of false
    /// suspicions. The TCP fallback is off in both arms: in the simulator a stream is never lost,
    /// so it would answer every one of those probes and hide what is under test.
    static func lossRun(seed: UInt64, lifeguard: Bool) -> (falseDead: [String], cluster: SimulatedCluster) {
        var settings = SWIMSettings.lan
        settings.tcpFallback = false
        settings.lifeguard = lifeguard
        let cluster = SimulatedCluster(seed: seed, size: 200, settings: settings)
        let converged = cluster.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(120))
        precondition(converged, "seed \(seed): the cluster did not converge before the loss started")
        var lossy = LinkFaults.none
        lossy.loss = 0.10
        cluster.simulation.setDefaultLink(lossy)
        cluster.simulation.run(for: .seconds(600))
        return (cluster.deadDeclarations(), cluster)
    }

    @Test("given 10% loss on every link among 200 members for 10 minutes, with Lifeguard nobody is declared dead")
    func lossWithLifeguard() {
        let seed = testSeed("lossWithLifeguard", fixed: 1)
        let (falseDead, cluster) = Self.lossRun(seed: seed, lifeguard: true)
        print("lossWithLifeguard: \(falseDead.count) false dead declarations; \(cluster.simulation.stats)")
        #expect(falseDead.isEmpty, "false deaths: \(falseDead)")
        cluster.simulation.setDefaultLink(.none)
        #expect(cluster.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(30)),
                "once the loss stops, every view is full again")
    }

    /// The control arm: the same run with plain SWIM (fixed suspicion timeout, no local health,
    /// no buddy system, no nacks, no stale-news correction). It must show false deaths, or the
    /// spec above would prove nothing.
    @Test("given the same lossy run without Lifeguard, some live members are declared dead")
    func lossWithoutLifeguard() {
        let seed = testSeed("lossWithoutLifeguard", fixed: 1)
        let (falseDead, cluster) = Self.lossRun(seed: seed, lifeguard: false)
        print("lossWithoutLifeguard: \(falseDead.count) false dead declarations; \(cluster.simulation.stats)")
        #expect(!falseDead.isEmpty)
    }

    @Test("given one member 10x slower than the rest, then it causes no dead declaration of anyone else")
    func slowMemberAccusesNobodyToDeath() {
        let cluster = SimulatedCluster(seed: testSeed("slowMember", fixed: 7), size: 30)
        #expect(cluster.simulation.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60)))
        let slow = cluster.simulation.addresses[5]
        cluster.simulation.setSlowdown(slow, factor: 10)
        cluster.simulation.run(for: .seconds(300))
        #expect(cluster.deadDeclarations(excluding: [cluster.name(slow)]).isEmpty)
    }
}
