#if canImport(Glibc)
import Glibc
#endif
import Chorus
import ChorusLoop
import Synchronization

/// `chorus-groups-bench`: the Chorus side of `scripts/bench groups`, the same phases as
/// scripts/lib/pg_bench.erl measures on two Erlang nodes, on two Chorus nodes in this process
/// (node A and node B, each with its own loops, linked over TCP on 127.0.0.1):
///
/// - local_sends_per_s: one node, 16 emitters with handlers; one thread broadcasts ~200-byte
///   events for `--duration` seconds (the in-process path);
/// - remote_sends_per_s: 16 emitters all on B, A broadcasts for `--duration` seconds; counted at
///   the receivers, from the first broadcast to the last arrival;
/// - half_local_sends_per_s: 8 emitters on A and 8 on B, counted at the receivers;
/// - remote_latency_p50_us / p99_us: one-way latency of remote broadcasts at 10,000 events/s,
///   paced by 1 ms ticks of 10 (as the Erlang side), each stamped right before its broadcast;
/// - join_visible_p50_us / p99_us: B monitors a scope (with a handler); A makes 1,000 members
///   and joins each to a group of its own, one at a time, about 1 ms apart, from a task on A's
///   data loop (`dataLoopExecutor`); time from the join call to B's notification;
/// - join_visible_pool_p50_us / p99_us: the same from a task on the global pool, whose joins
///   wake A's data loop from another thread;
/// - joins_10k_visible_ms: A joins 10,000 members over 100 groups as fast as it can; time from
///   the first join call until B's monitor has seen all 10,000.
///
///     chorus-groups-bench [--runs N] [--duration S] [--port P] [--phases local,remote,...]
///
/// Prints one JSON object per run on stdout (keys as the Erlang side's, "impl":"chorus");
/// progress on stderr.
struct Options {
    var runs = 1
    var duration = 5.0
    var port: UInt16 = 23_600
    /// Phases to run: local, remote, half, latency, join, bulk (all by default); a figure of a
    /// phase not run is null.
    var phases: Set<String> = ["local", "remote", "half", "latency", "join", "bulk"]

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(arguments[index - 1]) needs a value", code: 2) }
            return arguments[index]
        }
        func number<T: LosslessStringConvertible>(_ what: String) -> T {
            guard let parsed = T(value()) else { fail("\(arguments[index - 1]) expects \(what)", code: 2) }
            return parsed
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--runs": options.runs = number("a count")
            case "--duration": options.duration = number("seconds")
            case "--port": options.port = number("a port")
            case "--phases":
                let chosen = Set(value().split(separator: ",").map(String.init))
                let unknown = chosen.subtracting(options.phases)
                guard unknown.isEmpty else { fail("unknown phases: \(unknown.sorted().joined(separator: ","))", code: 2) }
                options.phases = chosen
            case "-h", "--help":
                print("usage: chorus-groups-bench [--runs N] [--duration S] [--port P] [--phases local,remote,half,latency,join,bulk]")
                exit(0)
            case let other: fail("unknown option \(other)", code: 2)
            }
            index += 1
        }
        return options
    }
}

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandleStderr.write("chorus-groups-bench: \(message)\n")
    exit(code)
}

enum FileHandleStderr {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

func log(_ text: String) { FileHandleStderr.write("[groups-bench] \(text)\n") }

func nowNanos() -> UInt64 { EventLoop.monotonicNanos() }

/// What emitters received: a count, the time the last expected event arrived, and (when asked)
/// latencies. As the Erlang side's counters, a receipt costs a count, not a clock read: the
/// clock is read once the count reaches what was sent (`expect`).
final class Receipts: Sendable {
    let count = Atomic<Int>(0)
    let lastNanos = Atomic<UInt64>(0)
    let expected = Atomic<Int>(.max)
    let latencies = Mutex<[UInt64]>([])
    let recordLatency = Atomic<Bool>(false)

    func take(_ message: GroupMessage) {
        let received = count.wrappingAdd(1, ordering: .relaxed).newValue
        if received >= expected.load(ordering: .relaxed) { lastNanos.store(nowNanos(), ordering: .relaxed) }
        if recordLatency.load(ordering: .relaxed), let event = message.event {
            let sent = UInt64(bitPattern: event.timestamp)
            let now = nowNanos()
            latencies.withLock { $0.append(now &- sent) }
        }
    }

    /// Sets how many events are due; if they are all in already, the time is now.
    func expect(_ sent: Int) {
        expected.store(sent, ordering: .relaxed)
        if count.load(ordering: .relaxed) >= sent { lastNanos.store(nowNanos(), ordering: .relaxed) }
    }

    func reset() {
        count.store(0, ordering: .relaxed)
        lastNanos.store(0, ordering: .relaxed)
        expected.store(.max, ordering: .relaxed)
        latencies.withLock { $0.removeAll() }
    }
}

func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
    return Double(sorted[max(0, index)])
}

func makeNode(_ name: String, port: UInt16, seed: UInt16?) throws -> ClusterNode {
    let dir = "/tmp/chorus-groups-bench-\(getpid())-\(name)"
    return try ClusterNode(settings: NodeSettings(
        cluster: "groups-bench", name: name, bind: try SocketAddress(host: "127.0.0.1", port: port),
        seeds: try seed.map { [try SocketAddress(host: "127.0.0.1", port: $0)] } ?? [],
        dataDir: dir, profile: .local))
}

func waitUntil(_ what: String, timeout: Double = 20, _ condition: () async -> Bool) async {
    let deadline = nowNanos() + UInt64(timeout * 1e9)
    while !(await condition()) {
        if nowNanos() > deadline { fail("timed out waiting for \(what)") }
        try? await Task.sleep(for: .milliseconds(5))
    }
}

let event200 = EmitterEvent(eventID: "e", eventType: "BenchEvent", streamID: "bench-1", version: 1,
                            data: Array(repeating: 0x42, count: 200))

/// Broadcasts for `seconds` from this thread; returns how many and when it started.
func broadcastFor(_ node: ClusterNode, subscription: String, seconds: Double) -> (sent: Int, started: UInt64) {
    let started = nowNanos()
    let end = started + UInt64(seconds * 1e9)
    var sent = 0
    while true {
        for _ in 0..<1024 {
            _ = try? node.broadcast(store: "bench", subscription: subscription, event: event200)
        }
        sent += 1024
        if nowNanos() >= end { break }
    }
    return (sent, started)
}

/// Receivers' rate: events received per second from `started` to the last arrival, once all
/// `sent` arrived, or once nothing arrived for a second (events a full link dropped never come;
/// the rate counts what arrived).
func receivedRate(_ receipts: Receipts, sent: Int, started: UInt64) async -> Double {
    receipts.expect(sent)
    var lastCount = -1, lastChange = nowNanos()
    while receipts.count.load(ordering: .relaxed) < sent {
        let count = receipts.count.load(ordering: .relaxed), now = nowNanos()
        if count != lastCount {
            lastCount = count
            lastChange = now
        } else if now - lastChange > 1_000_000_000 {
            break
        }
        try? await Task.sleep(for: .milliseconds(2))
    }
    let got = receipts.count.load(ordering: .relaxed)
    var last = receipts.lastNanos.load(ordering: .relaxed)
    if got < sent {
        log("only \(got) of \(sent) events arrived")
        last = lastChange
    }
    let elapsed = Double(last &- started) / 1e9
    return Double(got) / max(elapsed, 1e-9)
}

/// Join visibility: `a` makes 1,000 members and joins each to a group of its own, one at a time,
/// about 1 ms apart, from a task on `executor` (the global pool when nil); `b`'s scope monitor
/// notes each join. Returns p50 and p99 of the time from the join call to the notification, in
/// microseconds.
func joinVisibility(from a: ClusterNode, to b: ClusterNode, scope: String, executor: (any TaskExecutor)?,
                    keep: inout [GroupMember]) async throws -> (Double, Double) {
    let joins = 1_000
    let stamps = Mutex<[String: UInt64]>([:])
    let delays = Mutex<[UInt64]>([])
    let (_, monitor) = await b.monitorScope(scope) { change in
        guard change.kind == .join else { return }
        let now = nowNanos()
        if let sent = stamps.withLock({ $0[change.group] }) { delays.withLock { $0.append(now &- sent) } }
    }
    let members = try await Task(executorPreference: executor) { () async throws -> [GroupMember] in
        var members: [GroupMember] = []
        for k in 0..<joins {
            let member = a.makeMember()
            members.append(member)
            let group = "j\(k)"
            stamps.withLock { $0[group] = nowNanos() }
            try await a.join(scope: scope, group: group, member)
            try await Task.sleep(for: .milliseconds(1))
        }
        return members
    }.value
    keep.append(contentsOf: members)
    await waitUntil("every join to be seen on B") { delays.withLock { $0.count } >= joins }
    monitor.cancel()
    let sorted = delays.withLock { $0 }.sorted()
    return (percentile(sorted, 0.50) / 1000, percentile(sorted, 0.99) / 1000)
}

func runOnce(_ run: Int, options: Options) async throws -> String {
    let portA = options.port, portB = options.port + 1
    let a = try makeNode("a", port: portA, seed: nil)
    let b = try makeNode("b", port: portB, seed: portA)
    try await a.start()
    try await b.start()
    await waitUntil("the two nodes to see each other") {
        let seenByA = await a.members().filter { $0.state.status == .alive }.count
        let seenByB = await b.members().filter { $0.state.status == .alive }.count
        return seenByA == 2 && seenByB == 2
    }
    let receipts = Receipts()
    var keep: [GroupMember] = []
    func emitters(on node: ClusterNode, count: Int, subscription: String) async throws {
        for _ in 0..<count {
            let member = node.makeMember { receipts.take($0) }
            keep.append(member)
            try await node.joinEmitters(store: "bench", subscription: subscription, member)
        }
    }
    try await emitters(on: a, count: 16, subscription: "local")
    try await emitters(on: b, count: 16, subscription: "remote")
    try await emitters(on: a, count: 8, subscription: "half")
    try await emitters(on: b, count: 8, subscription: "half")
    await waitUntil("the emitter groups to reach A") {
        let remote = await a.emitters(store: "bench", subscription: "remote").count
        let half = await a.emitters(store: "bench", subscription: "half").count
        return remote == 16 && half == 16
    }
    try await Task.sleep(for: .milliseconds(50))

    func rate(_ subscription: String, _ label: String) async -> Double {
        guard options.phases.contains(subscription) else { return .nan }
        receipts.reset()
        let sent = broadcastFor(a, subscription: subscription, seconds: options.duration)
        let rate = await receivedRate(receipts, sent: sent.sent, started: sent.started)
        log("run \(run): \(label) \(Int(rate)) events/s")
        return rate
    }
    let localRate = await rate("local", "local path")
    let remoteRate = await rate("remote", "remote path")
    let halfRate = await rate("half", "half local")

    // One-way latency at 10,000 events/s: ticks of 1 ms, 10 events each, for 3 s.
    var latencyP50 = Double.nan, latencyP99 = Double.nan
    if options.phases.contains("latency") {
    receipts.reset()
    receipts.recordLatency.store(true, ordering: .relaxed)
    let ticks = 3_000
    var next = nowNanos()
    for _ in 0..<ticks {
        next += 1_000_000
        for _ in 0..<10 {
            var event = event200
            event.timestamp = Int64(bitPattern: nowNanos())
            _ = try? a.broadcast(store: "bench", subscription: "remote", event: event)
        }
        let now = nowNanos()
        if next > now { try await Task.sleep(for: .nanoseconds(Int64(next - now))) }
    }
    _ = await receivedRate(receipts, sent: ticks * 10, started: 0)
    receipts.recordLatency.store(false, ordering: .relaxed)
    let latencies = receipts.latencies.withLock { $0 }.sorted()
    latencyP50 = percentile(latencies, 0.50) / 1000
    latencyP99 = percentile(latencies, 0.99) / 1000
    log("run \(run): remote latency p50 \(latencyP50) us, p99 \(latencyP99) us")
    }

    // Join visibility, one join at a time; B watches with a handler monitor (on its loop, as
    // Erlang's monitor is a process that receives the notification). Measured twice: with the
    // joining task on A's data loop (as an Erlang process runs on the schedulers that run pg),
    // then with it on the global pool, which hands each join to the loop's thread.
    var joinP50 = Double.nan, joinP99 = Double.nan, poolJoinP50 = Double.nan, poolJoinP99 = Double.nan
    if options.phases.contains("join") {
        (joinP50, joinP99) = try await joinVisibility(from: a, to: b, scope: "bench.join", executor: a.dataLoopExecutor, keep: &keep)
        log("run \(run): join visible p50 \(joinP50) us, p99 \(joinP99) us (joiner on the data loop)")
        (poolJoinP50, poolJoinP99) = try await joinVisibility(from: a, to: b, scope: "bench.join.pool", executor: nil, keep: &keep)
        log("run \(run): join visible p50 \(poolJoinP50) us, p99 \(poolJoinP99) us (joiner on the global pool)")
    }

    // 10,000 joins over 100 groups.
    var bulkMillis = Double.nan
    if options.phases.contains("bulk") {
    let bulk = 10_000
    let seen = Atomic<Int>(0)
    let allSeenAt = Atomic<UInt64>(0)
    let (_, bulkMonitor) = await b.monitorScope("bench.bulk") { change in
        guard change.kind == .join else { return }
        if seen.wrappingAdd(change.members.count, ordering: .relaxed).newValue >= bulk {
            allSeenAt.store(nowNanos(), ordering: .relaxed)
        }
    }
    let bulkMembers = (0..<bulk).map { _ in a.makeMember() }
    keep.append(contentsOf: bulkMembers)
    let bulkStart = nowNanos()
    for (k, member) in bulkMembers.enumerated() {
        try await a.join(scope: "bench.bulk", group: "g\(k % 100)", member)
    }
    await waitUntil("B to see the 10,000 joins") { allSeenAt.load(ordering: .relaxed) != 0 }
    bulkMonitor.cancel()
    bulkMillis = Double(allSeenAt.load(ordering: .relaxed) &- bulkStart) / 1e6
    log("run \(run): 10,000 joins visible in \(bulkMillis) ms")
    }

    await b.stop()
    await a.stop()
    withExtendedLifetime(keep) {}
    func number(_ x: Double) -> String { x.isFinite ? String(Double(Int(x * 10)) / 10) : "null" }
    func whole(_ x: Double) -> String { x.isFinite ? String(Int(x)) : "null" }
    return "{\"impl\":\"chorus\",\"run\":\(run),\"local_sends_per_s\":\(whole(localRate)),"
        + "\"remote_sends_per_s\":\(whole(remoteRate)),\"half_local_sends_per_s\":\(whole(halfRate)),"
        + "\"remote_latency_p50_us\":\(number(latencyP50)),\"remote_latency_p99_us\":\(number(latencyP99)),"
        + "\"join_visible_p50_us\":\(number(joinP50)),\"join_visible_p99_us\":\(number(joinP99)),"
        + "\"join_visible_pool_p50_us\":\(number(poolJoinP50)),\"join_visible_pool_p99_us\":\(number(poolJoinP99)),"
        + "\"joins_10k_visible_ms\":\(number(bulkMillis))}"
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
for run in 1...max(1, options.runs) {
    do {
        print(try await runOnce(run, options: options))
        fflush(nil)
    } catch {
        fail("run \(run) failed: \(error)")
    }
}
