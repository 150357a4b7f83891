import Chorus
import ChorusAdmin
import ChorusTestSupport
import Testing

/// The node's figures as `GET /metrics` serves them, and the pieces that carry them.
@Suite("Metrics", .timeLimit(.minutes(1)))
struct MetricsTests {
    /// Every family a node's figures give, with the label values each must show from the start.
    static let families: [String: [[String: String]]] = [
        "chorus_members": ["alive", "suspect", "dead", "left"].map { ["status": $0] },
        "chorus_membership_probes_total": [[:]],
        "chorus_membership_indirect_probes_total": [[:]],
        "chorus_membership_failed_probes_total": [[:]],
        "chorus_membership_suspicions_total": [[:]],
        "chorus_membership_deaths_total": [[:]],
        "chorus_membership_refutations_total": [[:]],
        "chorus_membership_local_health": [[:]],
        "chorus_membership_undeliverable_total": [["refused": "true"], ["refused": "false"]],
        "chorus_group_members": [["origin": "local"], ["origin": "remote"]],
        "chorus_group_joins_total": [["origin": "local"], ["origin": "remote"]],
        "chorus_group_leaves_total": [["origin": "local"], ["origin": "remote"]],
        "chorus_broadcast_events_total": [["path": "local"], ["path": "remote"]],
        "chorus_broadcast_acks_total": [["result": "accepted"], ["result": "refused"]],
        "chorus_broadcast_retries_total": [[:]],
        "chorus_broadcast_failures_total": [["reason": "no_emitters"], ["reason": "not_acknowledged"]],
        "chorus_broadcast_ack_seconds_count": [[:]],
        "chorus_store_keys": [["keyspace": "replicated"], ["keyspace": "local"]],
        "chorus_store_writes_total": [[:]],
        "chorus_store_restore_seconds": [[:]],
        "chorus_replication_peers": [[:]],
        "chorus_replication_waiting_deltas": [[:]],
        "chorus_replication_logged_deltas": [[:]],
        "chorus_replication_deltas_total": ["pushed", "repaired", "applied", "duplicate"].map { ["kind": $0] },
        "chorus_replication_anti_entropy_rounds_total": [[:]],
        "chorus_replication_snapshots_total": [["direction": "sent"], ["direction": "received"]],
    ]

    @Test("given a node just started and alone, when /metrics is scraped over HTTP, then every family of its figures is there with each known label value, declared once with its type, and nothing has been counted yet")
    func everyFamilyFromTheStart() async throws {
        try await AdminAPITests.withAdmin { address, _ in
            let answer = await AdminClient.get(address, "/metrics")
            let page = MetricSamples(parsing: answer?.body ?? "")
            for (name, labelSets) in Self.families {
                for labels in labelSets {
                    let value = page.value(name, labels)
                    #expect(value != nil, "\(name) \(labels)")
                    if name.hasSuffix("_total") || name.hasSuffix("_count") { #expect(value == 0, "\(name) \(labels)") }
                }
            }
            #expect(page.value("chorus_members", ["status": "alive"]) == 1, "itself")
            #expect(page.families["chorus_broadcast_ack_seconds"] == "histogram")
            #expect(page.families["chorus_replication_lag_seconds"] == "gauge", "declared before any peer")
            #expect(page.families["chorus_replication_pending_deltas"] == "gauge")
            let declared = (answer?.body ?? "").split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
            #expect(Set(declared).count == declared.count, "no family is declared twice")
        }
    }

    @Test("given durations on either side of the bounds, then each is counted in the first bucket whose bound it does not pass, above 10 s in the last, and summed")
    func latencyHistogramBuckets() {
        var histogram = LatencyHistogram()
        for nanos: UInt64 in [50_000, 100_000, 100_001, 1_000_000, 3_000_000_000, 20_000_000_000] { histogram.record(nanos: nanos) }
        var expected = [UInt64](repeating: 0, count: LatencyHistogram.bounds.count + 1)
        expected[0] = 2 // 50 µs and exactly 100 µs
        expected[1] = 1 // just above 100 µs: up to 250 µs
        expected[3] = 1 // 1 ms
        expected[LatencyHistogram.bounds.firstIndex(of: 5)!] = 1
        expected[LatencyHistogram.bounds.count] = 1 // 20 s: +Inf
        #expect(histogram.counts == expected)
        #expect(histogram.count == 6)
        #expect(histogram.sumNanos == 23_001_250_001)
    }

    @Test("given Prometheus text with escaped label values, a histogram and comments, then its samples and families are read back")
    func samplesAreReadBack() {
        let page = MetricSamples(parsing: """
            # HELP a_total An "a".
            # TYPE a_total counter
            a_total{peer="n\\"1\\\\",kind="x"} 3
            a_total{peer="n2",kind="y"} 4
            # TYPE h_seconds histogram
            h_seconds_bucket{le="0.5"} 1
            h_seconds_bucket{le="+Inf"} 2
            h_seconds_count 2
            plain 1.5e-05
            """)
        #expect(page.value("a_total") == 7)
        #expect(page.value("a_total", ["peer": "n\"1\\"]) == 3)
        #expect(page.value("a_total", ["kind": "y"]) == 4)
        #expect(page.value("h_seconds_bucket", ["le": "+Inf"]) == 2)
        #expect(page.value("plain") == 0.000015)
        #expect(page.value("missing") == nil)
        #expect(page.families == ["a_total": "counter", "h_seconds": "histogram"])
    }
}
