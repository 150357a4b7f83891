#if canImport(Glibc)
import Glibc
#endif
import Chorus
import ChorusLoop
import ChorusReplication
import ChorusStorage
import ChorusStores
import ChorusWire
import Synchronization

/// `chorus-stores-bench`: the figures of `scripts/bench stores`, on Chorus nodes in this process
/// (each with its own loops and its own SQLite file, linked over TCP on 127.0.0.1).
///
///     chorus-stores-bench cluster --dir D [--duration S] [--writers N] [--port P]
///         three nodes; on n1, N tasks put epochs to distinct keys as fast as acknowledgements
///         come back for S seconds (durable_writes_per_s); then, at half that rate, paced writes
///         on n1, each timed from the call until n3 has applied it (lag_p50_ms, lag_p99_ms)
///     chorus-stores-bench fill --dir D --keys K [--port P]
///         one node writes K epoch keys and stops
///     chorus-stores-bench recover --dir D [--port P]
///         starts a node on D: restore time, and resident memory per key beyond an empty node's
///     chorus-stores-bench core [--keys K] [--rounds R]
///         the stores' pure path on one thread, no I/O: n1 puts K epochs to distinct keys in batches
///         of 256, its deltas carried to two replicas, every node's changes taken as journal
///         records; CPU time per write of the three nodes (core_ns_per_write), best of R rounds
///
/// Prints one JSON object on stdout; progress on stderr.
struct Options {
    var mode = ""
    var dir = ""
    var duration = 5.0
    var writers = 256
    var keys = 1_000_000
    var port: UInt16 = 24_600
    var rounds = 5

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        guard let mode = arguments.first, ["cluster", "fill", "recover", "core"].contains(mode) else {
            fail("usage: chorus-stores-bench cluster|fill|recover|core [--dir D] [--duration S] [--writers N] [--keys K] [--port P] [--rounds R]", code: 2)
        }
        options.mode = mode
        var index = 1
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
            case "--dir": options.dir = value()
            case "--duration": options.duration = number("seconds")
            case "--writers": options.writers = number("a count")
            case "--keys": options.keys = number("a count")
            case "--port": options.port = number("a port")
            case "--rounds": options.rounds = number("a count")
            case let other: fail("unknown option \(other)", code: 2)
            }
            index += 1
        }
        guard !options.dir.isEmpty || mode == "core" else { fail("--dir is required", code: 2) }
        return options
    }
}

func fail(_ message: String, code: Int32 = 1) -> Never {
    progress("error: \(message)")
    exit(code)
}

/// A line on stderr, marked so that scripts/bench passes it on while it waits.
func progress(_ text: String) {
    var line = "[stores-bench] " + text + "\n"
    line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
}

func now() -> UInt64 { EventLoop.monotonicNanos() }

/// Resident memory of this process, from /proc/self/statm (its second field, in pages).
func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    let fields = String(decoding: buffer[..<count], as: UTF8.self).split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func makeNode(_ name: String, port: UInt16, seed: UInt16?, dir: String) throws -> ClusterNode {
    var settings = NodeSettings(cluster: "stores-bench", name: name, bind: try SocketAddress("127.0.0.1:\(port)"),
                                seeds: seed.map { [try! SocketAddress("127.0.0.1:\($0)")] } ?? [],
                                dataDir: "\(dir)/\(name)", profile: .lan, logLevel: .warning)
    if let records = getenv("CHORUS_BENCH_COMPACTION").flatMap({ Int(String(cString: $0)) }) { settings.storeCompactionRecords = records }
    return try ClusterNode(settings: settings)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

/// Counts acknowledged writes across tasks.
final class Tally: Sendable {
    let count = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
}

/// Lag samples from many tasks.
final class Samples: Sendable {
    let values = Mutex<[Double]>([])
    func add(_ value: Double) { values.withLock { $0.append(value) } }
    var sorted: [Double] { values.withLock { $0.sorted() } }
}

func cluster(_ options: Options) async throws {
    let nodes = try (0..<3).map { try makeNode("n\($0 + 1)", port: options.port + UInt16($0), seed: $0 == 0 ? nil : options.port, dir: options.dir) }
    for node in nodes { try await node.start() }
    let (n1, n3) = (nodes[0], nodes[2])
    // Every node linked for replication.
    let formed = now()
    while nodes.contains(where: { ($0.storeFigures()?.peers ?? 0) < 2 }) {
        guard now() - formed < 30_000_000_000 else { fail("the cluster did not form in 30 s") }
        try await Task.sleep(for: .milliseconds(20))
    }
    try await n1.epochs.initialize(client: "bench")

    // Durable writes per second on n1.
    progress("writes: \(options.writers) writers for \(options.duration) s")
    let tally = Tally()
    let deadline = now() + UInt64(options.duration * 1e9)
    let started = now()
    await withTaskGroup(of: Void.self) { group in
        for writer in 0..<options.writers {
            group.addTask {
                var sequence: UInt64 = 0
                while now() < deadline {
                    sequence += 1
                    do {
                        try await n1.epochs.put(client: "bench", topic: "topic-\(sequence % 4096)", producer: "writer-\(writer)",
                                                mode: .exclusive, epoch: sequence)
                        tally.count.add(1, ordering: .relaxed)
                    } catch {
                        tally.failures.add(1, ordering: .relaxed)
                    }
                }
            }
        }
    }
    let seconds = Double(now() - started) / 1e9
    let written = tally.count.load(ordering: .relaxed)
    let writesPerSecond = Double(written) / seconds
    progress("writes: \(written) acknowledged in \(seconds) s (\(Int(writesPerSecond))/s), \(tally.failures.load(ordering: .relaxed)) failed")

    // Replication lag at half that rate: writes paced in 1 ms ticks, each timed until n3 has it.
    let rate = max(1_000, Int(writesPerSecond / 2))
    let perTick = max(1, rate / 1000)
    progress("lag: \(rate) writes/s on n1 for \(options.duration) s, each awaited on n3")
    let lags = Samples()
    let waiting = Tally()
    let tracker = n3.lsnTracker(named: "bench")
    let lagStart = now()
    let lagDeadline = lagStart + UInt64(options.duration * 1e9)
    var tick: UInt64 = 0
    var sequence: UInt64 = 1_000_000_000
    await withTaskGroup(of: Void.self) { group in
        while now() < lagDeadline {
            tick += 1
            let due = lagStart + tick * 1_000_000
            while now() < due { try? await Task.sleep(for: .microseconds(200)) }
            for _ in 0..<perTick {
                sequence += 1
                let value = sequence
                group.addTask {
                    // Timed from the call until n3 has applied the write, whether or not n1 has
                    // committed it by then (the wait on n3 starts as soon as n1 applied it).
                    let issued = now()
                    _ = try? await n1.epochs.put(client: "bench", topic: "lag-\(value % 4096)", producer: "pacer",
                                                 mode: .exclusive, epoch: value, applied: { lsn in
                        // Timed on n3's own thread as it applies the write (no task in between).
                        waiting.count.add(1, ordering: .relaxed)
                        do {
                            try tracker.whenReplicated(lsn, timeout: .seconds(10)) { outcome in
                                if outcome == .ready { lags.add(Double(now() - issued) / 1e6) }
                                waiting.count.subtract(1, ordering: .relaxed)
                            }
                        } catch {
                            waiting.count.subtract(1, ordering: .relaxed)
                        }
                    })
                }
            }
        }
    }
    while waiting.count.load(ordering: .relaxed) > 0 { try? await Task.sleep(for: .milliseconds(10)) }
    let sorted = lags.sorted
    progress("lag: \(sorted.count) writes timed")
    for node in nodes.reversed() { await node.stop() }
    print("{\"durable_writes_per_s\": \(Int(writesPerSecond)), \"writers\": \(options.writers), \"lag_rate_per_s\": \(rate), "
          + "\"lag_p50_ms\": \(percentile(sorted, 0.5)), \"lag_p99_ms\": \(percentile(sorted, 0.99)), \"lag_samples\": \(sorted.count)}")
}

/// The key text of fill's key `index`: what "beyond its text" leaves out.
func fillKey(_ index: Int) -> (topic: String, producer: String) {
    ("persistent://tenant/namespace/topic-\(index / 16)", "producer-\(index % 16)")
}

func fill(_ options: Options) async throws {
    let node = try makeNode("solo", port: options.port, seed: nil, dir: options.dir)
    try await node.start()
    try await node.epochs.initialize(client: "bench")
    let tally = Tally()
    let started = now()
    let writers = 256
    progress("fill: \(options.keys) keys")
    let reporter = Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            if !Task.isCancelled { progress("fill: \(tally.count.load(ordering: .relaxed)) of \(options.keys) keys written") }
        }
    }
    await withTaskGroup(of: Void.self) { group in
        for writer in 0..<writers {
            group.addTask {
                var index = writer
                while index < options.keys {
                    let key = fillKey(index)
                    if (try? await node.epochs.put(client: "bench", topic: key.topic, producer: key.producer, mode: .exclusive,
                                                   epoch: UInt64(index))) != nil {
                        tally.count.add(1, ordering: .relaxed)
                    }
                    index += writers
                }
            }
        }
    }
    reporter.cancel()
    let seconds = Double(now() - started) / 1e9
    await node.stop()
    print("{\"keys\": \(tally.count.load(ordering: .relaxed)), \"fill_s\": \(seconds)}")
}

func recover(_ options: Options) async throws {
    let before = residentBytes()
    let node = try makeNode("solo", port: options.port, seed: nil, dir: options.dir)
    let started = now()
    try await node.start()
    let startSeconds = Double(now() - started) / 1e9
    guard let figures = node.storeFigures() else { fail("no store figures") }
    let after = residentBytes()
    var textBytes = 0
    for index in 0..<figures.replicatedKeys {
        let key = fillKey(index)
        textBytes += "bench".utf8.count + key.topic.utf8.count + key.producer.utf8.count
    }
    let keys = max(1, figures.replicatedKeys)
    let perKey = Double(after - before) / Double(keys)
    let textPerKey = Double(textBytes) / Double(keys)
    await node.stop()
    print("{\"keys\": \(figures.replicatedKeys), \"restore_s\": \(figures.restoreSeconds), \"start_s\": \(startSeconds), "
          + "\"rss_bytes_per_key\": \(Int(perKey)), \"text_bytes_per_key\": \(Int(textPerKey)), "
          + "\"bytes_per_key_beyond_text\": \(Int(perKey - textPerKey))}")
}

/// One round of the pure path: see `core` in the usage above. Returns its time in nanoseconds.
func coreRound(keys: Int) -> UInt64 {
    let uids = (1...3).map { NodeUID(rawValue: UInt64($0) << 32 | UInt64.random(in: 1...UInt64(UInt32.max))) }
    var nodes = uids.map { ReplicationInstance<StoreKey, StoreValue>(origin: $0, settings: .lan, now: .zero) }
    for (index, uid) in uids.enumerated() {
        for peer in uids where peer != uid { nodes[index].peerUp(peer) }
    }
    func carry() {
        for index in nodes.indices {
            for directive in nodes[index].takeDirectives() {
                guard case let .send(kind, payload, peers) = directive else { continue }
                for peer in peers {
                    let target = uids.firstIndex(of: peer)!
                    payload.withUnsafeBytes { try! nodes[target].receive(kind, payload: $0, from: uids[index], now: .zero) }
                }
            }
        }
    }
    func journal() {
        for index in nodes.indices {
            let record = JournalRecord(nodes[index].takeChanges().changes)
            precondition(record.count >= 0)
        }
    }
    carry()
    _ = try! EpochStore.initClient("bench", in: &nodes[0])
    let started = now()
    var written = 0
    while written < keys {
        for _ in 0..<min(256, keys - written) {
            written += 1
            _ = try! EpochStore.put(client: "bench", topic: "topic-\(written % 4096)", producer: "writer-\(written / 4096)",
                                    mode: .exclusive, epoch: UInt64(written), in: &nodes[0])
        }
        journal()
        carry()
        journal()
    }
    let elapsed = now() - started
    precondition(nodes.allSatisfy { $0.state.keyCount == keys + 1 }, "every replica holds every key")
    return elapsed
}

func core(_ options: Options) {
    var best = UInt64.max
    for round in 1...max(1, options.rounds) {
        let elapsed = coreRound(keys: options.keys)
        progress("core round \(round): \(Double(elapsed) / Double(options.keys)) ns per write")
        best = min(best, elapsed)
    }
    print("{\"core_ns_per_write\": \(Double(best) / Double(options.keys)), \"keys\": \(options.keys), \"rounds\": \(options.rounds)}")
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
do {
    switch options.mode {
    case "cluster": try await cluster(options)
    case "fill": try await fill(options)
    case "core": core(options)
    default: try await recover(options)
    }
} catch {
    fail("\(error)")
}
