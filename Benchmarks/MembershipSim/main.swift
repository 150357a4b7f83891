#if canImport(Glibc)
import Glibc
#endif
import ChorusCore
import ChorusMembership
import ChorusMembershipSimulation
import ChorusSimulation

/// `chorus-membership-sim`: runs N simulated SWIM members (the production core) and prints how
/// long the run took in wall time, when the views converged, and how many dead declarations were
/// made about members that never failed.
///
///     chorus-membership-sim [--nodes 1000] [--seconds 600] [--loss 0.0] [--lifeguard on|off]
///                           [--tcp-fallback on|off] [--profile lan|wan|local] [--seed S] [--hang]
///
/// With `--hang`, after convergence and a settle of `--seconds`, one member (chosen by the seed)
/// is paused for good, and it prints when the first member suspected it, when the first and when
/// the last of the others declared it dead (the figures `scripts/bench membership` measures on
/// real processes as "hang").
///
/// With `--staggered MS`, members start as `scripts/bench membership` starts real ones: the first,
/// then the others MS milliseconds apart, each joining through the first three; it prints when
/// every member saw every other alive, counted from the last start, to the millisecond.
///
/// With `SIM_DEBUG` set in the environment it also prints the views second by second while the
/// cluster forms, and who declared whom dead, and when.
struct Options {
    var nodes = 1_000
    var seconds = 600.0
    var loss = 0.0
    var lifeguard = true
    var tcpFallback = true
    var profile = "lan"
    var seed: UInt64 = 1
    var hang = false
    /// With a value: members start one by one this many milliseconds apart (see `--staggered`).
    var staggeredMillis: Int?

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        func number<T: LosslessStringConvertible>(_ what: String) -> T {
            guard let parsed = T(value()) else { fail("\(arguments[index - 1]) expects \(what)") }
            return parsed
        }
        func onOff(_ text: String) -> Bool {
            switch text {
            case "on": return true
            case "off": return false
            default: fail("expected on or off, got \(text)")
            }
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--nodes": options.nodes = number("a count")
            case "--seconds": options.seconds = number("a number")
            case "--loss": options.loss = number("a ratio")
            case "--lifeguard": options.lifeguard = onOff(value())
            case "--tcp-fallback": options.tcpFallback = onOff(value())
            case "--profile": options.profile = value()
            case "--seed": options.seed = number("an unsigned integer")
            case "--hang": options.hang = true
            case "--staggered": options.staggeredMillis = number("milliseconds")
            case "-h", "--help":
                print("usage: chorus-membership-sim [--nodes N] [--seconds T] [--loss P] [--lifeguard on|off] [--tcp-fallback on|off] [--profile lan|wan|local] [--seed S] [--hang] [--staggered MS]")
                exit(0)
            case let other: fail("unknown option \(other)")
            }
            index += 1
        }
        return options
    }
}

func fail(_ message: String) -> Never {
    print("chorus-membership-sim: \(message)")
    exit(2)
}

/// `x` with two decimals.
func fixed(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
guard var settings = SWIMSettings.profile(options.profile) else { fail("unknown profile \(options.profile)") }
settings.lifeguard = options.lifeguard
settings.tcpFallback = options.tcpFallback

let clock = ContinuousClock()
let started = clock.now
if let spacing = options.staggeredMillis {
    let cluster = SimulatedCluster(seed: options.seed, size: 1, settings: settings)
    var addresses = cluster.simulation.addresses
    for _ in 1..<options.nodes {
        cluster.simulation.run(for: .milliseconds(spacing))
        let address = cluster.add()
        addresses.append(address)
        cluster.join(address, seeds: Array(addresses.prefix(3)))
    }
    let lastStart = cluster.simulation.now
    let converged = cluster.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(60), every: .milliseconds(1))
    print("seed \(options.seed), \(options.nodes) nodes \(spacing) ms apart, profile \(options.profile): "
          + (converged ? "all saw all alive \(fixed(seconds(cluster.simulation.now - lastStart))) s after the last start" : "not converged in 60 s"))
    exit(0)
}
let cluster = SimulatedCluster(seed: options.seed, size: options.nodes, settings: settings)
if getenv("SIM_DEBUG") != nil {
    for second in 1 ... 40 {
        cluster.simulation.run(until: .seconds(UInt64(second)))
        let views = cluster.views()
        let full = views.values.filter { $0.values.filter { $0 == .alive }.count == options.nodes }.count
        let suspects = views.values.reduce(0) { $0 + $1.values.filter { $0 == .suspect }.count }
        let sizes = views.values.map(\.count)
        print("t=\(second)s full=\(full) suspects=\(suspects) minView=\(sizes.min()!) maxView=\(sizes.max()!)")
    }
}
let converged = cluster.run(until: { cluster.allSee(alive: cluster.allNames) }, timeout: .seconds(600), every: .milliseconds(250))
let convergedAt = cluster.simulation.now
let convergenceWall = seconds(clock.now - started)
print("seed \(options.seed), \(options.nodes) nodes, profile \(options.profile), lifeguard \(options.lifeguard ? "on" : "off"), tcp fallback \(options.tcpFallback ? "on" : "off")")
print("converged: \(converged) at \(convergedAt) simulated, \(fixed(convergenceWall)) s wall")

if options.hang {
    cluster.simulation.run(for: .nanoseconds(Int64(options.seconds * 1e9)))
    var pick = SimulationRandom(seed: options.seed ^ 0x4A4E47)
    let addresses = cluster.simulation.addresses
    let victim = addresses[Int(pick.next() % UInt64(addresses.count))]
    let others = addresses.filter { $0 != victim }
    let name = cluster.name(victim)
    let stoppedAt = cluster.simulation.now
    cluster.simulation.pause(victim)
    var firstSuspect: Duration?, firstDead: Duration?, allDead: Duration?
    while allDead == nil, cluster.simulation.now - stoppedAt < .seconds(120) {
        cluster.simulation.run(for: .milliseconds(10))
        let statuses = cluster.views(of: others).values.map { $0[name] }
        let elapsed = cluster.simulation.now - stoppedAt
        if firstSuspect == nil, statuses.contains(where: { $0 == .suspect || $0 == .dead }) { firstSuspect = elapsed }
        if firstDead == nil, statuses.contains(.dead) { firstDead = elapsed }
        if statuses.allSatisfy({ $0 == .dead }) { allDead = elapsed }
    }
    func show(_ d: Duration?) -> String { d.map { fixed(seconds($0)) } ?? "never" }
    print("hang \(name): first suspect \(show(firstSuspect)) s, first dead \(show(firstDead)) s, all dead \(show(allDead)) s")
    exit(0)
}

if options.loss > 0 {
    var lossy = LinkFaults.none
    lossy.loss = options.loss
    cluster.simulation.setDefaultLink(lossy)
}
let runStart = clock.now
cluster.simulation.run(for: .nanoseconds(Int64(options.seconds * 1e9)))
let runWall = seconds(clock.now - runStart)
let falseDead = cluster.deadDeclarations()
print("ran \(options.seconds) simulated s with loss \(options.loss): \(fixed(runWall)) s wall, \(cluster.simulation.stats)")
print("false dead declarations: \(falseDead.count)\(falseDead.isEmpty ? "" : " (" + Set(falseDead).sorted().prefix(10).joined(separator: ", ") + ")")")
if getenv("SIM_DEBUG") != nil {
    for address in cluster.simulation.addresses {
        guard let node = cluster.simulation.node(address) else { continue }
        for event in node.events {
            if case .dead(let member) = event {
                print("  \(node.instance.me.name) declared \(member.id.name) dead: \(member.state) since \(member.since.nanos / 1_000_000) ms")
            }
        }
    }
    for address in cluster.simulation.addresses {
        guard let node = cluster.simulation.node(address), node.instance.incarnation.rawValue > 20 else { continue }
        print("  \(node.instance.me.name) refuted up to incarnation \(node.instance.incarnation)")
    }
}
print("views full at the end: \(cluster.allSee(alive: cluster.allNames))")
print("total wall: \(fixed(seconds(clock.now - started))) s")
