import Chorus
import ChorusAdmin
import ChorusLoop
#if canImport(Glibc)
import Glibc
#endif

/// `chorus top`: the key figures of several running nodes, from their `GET /metrics`, as a table
/// refreshed every interval.
struct TopCommand: Command {
    static let words = ["top"]
    static let summary = "Show running nodes' key figures, refreshed (GET /metrics)."
    static let help = """
        Usage: chorus top --config FILE [--node NAME]... [OPTIONS]
               chorus top --admin HOST:PORT [--admin HOST:PORT]... [OPTIONS]

        Prints a table of each node's key figures from its /metrics, every --interval seconds
        (clearing the screen on a terminal), until interrupted or --count tables are printed.
        Per second figures are rates between two tables; the first table shows "-" for them.

          NODE           the node's name (with --admin, its address)
          MEMBERS        alive/suspect/dead members as the node sees them
          HEALTH         Lifeguard's local health score (0: healthy)
          PROBES/S FAIL/S  probe rounds, and those with no ack
          GROUPS         group joins held by local/remote members
          BCAST/S        broadcast events handed to local/remote members
          ACK-P99        99th percentile time of acknowledged broadcasts (in the interval)
          RETRY/S        acknowledged broadcasts retried
          LAG PENDING    the largest replication lag to a peer, and the writes peers have not acknowledged
          DROP/S         packets and frames dropped (chorus_dropped_packets_total)

        Options:
          --config FILE        a cluster file (YAML): every node of it, or those named by --node
          --node NAME          a node of --config (repeatable)
          --admin HOST:PORT    a node's admin address (repeatable)
          --interval SECONDS   time between tables (default 2)
          --count N            print N tables, then exit (default: until interrupted)
          --timeout SECONDS    seconds to wait for each node's answer (default 3)
          --token-file FILE    the admin API's bearer token (default: each node's admin_token_file)
        """
    static let options: [OptionSpec] = [.repeatable("admin"), .value("config"), .repeatable("node"), .value("interval"),
                                        .value("count"), .value("timeout"), .value("token-file")]

    let targets: [(name: String, target: AdminTarget)]
    let intervalSeconds: Double
    let count: Int?

    init(_ arguments: Arguments) throws(UsageError) {
        let intervalText = arguments.value("interval") ?? "2"
        guard let interval = Double(intervalText), interval >= 0.1, interval <= 3600 else {
            throw UsageError("--interval must be a number of seconds from 0.1 to 3600, not \"\(intervalText)\"")
        }
        intervalSeconds = interval
        if let text = arguments.value("count") {
            guard let count = Int(text), count > 0 else { throw UsageError("--count must be a whole number above 0, not \"\(text)\"") }
            self.count = count
        } else {
            count = nil
        }
        let admins = arguments.all("admin"), nodes = arguments.all("node")
        guard admins.isEmpty || arguments.value("config") == nil else { throw UsageError("give --config or --admin, not both") }
        guard admins.isEmpty || nodes.isEmpty else { throw UsageError("--node goes with --config") }
        // One target per --admin, per --node, or per node of --config.
        let each = admins.isEmpty ? (nodes.count > 1 ? nodes.map { ("node", $0) } : []) : admins.map { ("admin", $0) }
        let found: [AdminTarget]
        if each.isEmpty {
            found = try AdminTarget.everyNode(arguments)
        } else {
            found = try each.map { option, value throws(UsageError) in
                var single = arguments
                single.set(option, to: value)
                return try AdminTarget(single)
            }
        }
        targets = found.map { ($0.node ?? $0.admin ?? "?", $0) }
    }

    func run() async throws(CommandFailure) {
        let terminal = isatty(STDOUT_FILENO) != 0
        var previous: [MetricSamples?] = Array(repeating: nil, count: targets.count)
        var previousAt: UInt64 = 0
        var printed = 0
        while count.map({ printed < $0 }) ?? true {
            let now = EventLoop.monotonicNanos()
            let pages = targets.map { node -> MetricSamples? in
                guard let (_, answer) = try? node.target.request("GET", "/metrics"), answer.status == 200 else { return nil }
                return MetricSamples(parsing: String(decoding: answer.body, as: UTF8.self))
            }
            let seconds = previousAt == 0 ? nil : Double(now - previousAt) / 1e9
            var rows = [TopRow.header]
            for (index, node) in targets.enumerated() {
                rows.append(pages[index].map { TopRow.cells(node.name, $0, previous: previous[index], seconds: seconds) }
                            ?? [node.name, "no answer"])
            }
            if terminal { print("\u{1B}[H\u{1B}[2J", terminator: "") } else if printed > 0 { print() }
            print(textTable(rows), terminator: "")
            fflush(nil)
            previous = pages
            previousAt = now
            printed += 1
            if count.map({ printed < $0 }) ?? true { try? await Task.sleep(for: .milliseconds(Int(intervalSeconds * 1000))) }
        }
    }
}

/// One row of `chorus top`: a node's figures from its metrics page, rates against the page
/// before it.
enum TopRow {
    static let header = ["NODE", "MEMBERS", "HEALTH", "PROBES/S", "FAIL/S", "GROUPS", "BCAST/S", "ACK-P99", "RETRY/S", "LAG", "PENDING",
                         "DROP/S"]

    static func cells(_ node: String, _ page: MetricSamples, previous: MetricSamples?, seconds: Double?) -> [String] {
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double { page.value(name, labels) ?? 0 }
        func rate(_ name: String, _ labels: [String: String] = [:]) -> String {
            guard let previous, let seconds, seconds > 0 else { return "-" }
            return figure(max(0, value(name, labels) - (previous.value(name, labels) ?? 0)) / seconds)
        }
        let members = ["alive", "suspect", "dead"].map { figure(value("chorus_members", ["status": $0])) }.joined(separator: "/")
        let groups = figure(value("chorus_group_members", ["origin": "local"])) + "/" + figure(value("chorus_group_members", ["origin": "remote"]))
        let broadcasts = rate("chorus_broadcast_events_total", ["path": "local"]) + "/" + rate("chorus_broadcast_events_total", ["path": "remote"])
        let lag = page.all("chorus_replication_lag_seconds").map(\.value).max().map(duration) ?? "-"
        return [node, members, figure(value("chorus_membership_local_health")), rate("chorus_membership_probes_total"),
                rate("chorus_membership_failed_probes_total"), groups, broadcasts, ackPercentile(page, previous, 0.99),
                rate("chorus_broadcast_retries_total"), lag, figure(value("chorus_replication_pending_deltas")),
                rate("chorus_dropped_packets_total")]
    }

    /// The bound of the first bucket that holds `quantile` of the acknowledged broadcasts counted
    /// since `previous` (all of them without it); "-" when there is none.
    static func ackPercentile(_ page: MetricSamples, _ previous: MetricSamples?, _ quantile: Double) -> String {
        let buckets = page.all("chorus_broadcast_ack_seconds_bucket").compactMap { sample -> (bound: Double, count: Double)? in
            guard let bound = sample.labels["le"].flatMap({ $0 == "+Inf" ? Double.infinity : Double($0) }) else { return nil }
            return (bound, sample.value - (previous?.value(sample.name, sample.labels) ?? 0))
        }.sorted { $0.bound < $1.bound }
        guard let total = buckets.last?.count, total > 0 else { return "-" }
        let bound = buckets.first { $0.count >= quantile * total }?.bound ?? .infinity
        return bound.isInfinite ? ">" + duration(LatencyHistogram.bounds.last!) : "≤" + duration(bound)
    }

    /// A count or rate, whole when it is, else with one decimal.
    static func figure(_ value: Double) -> String {
        value == value.rounded() || value >= 100 ? String(Int(value.rounded())) : String((value * 10).rounded() / 10)
    }

    /// Seconds as µs, ms or s.
    static func duration(_ seconds: Double) -> String {
        if seconds == 0 { return "0" }
        if seconds < 0.001 { return figure(seconds * 1e6) + "µs" }
        if seconds < 1 { return figure(seconds * 1e3) + "ms" }
        return figure(seconds) + "s"
    }
}
