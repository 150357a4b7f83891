import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import ChorusWire
import Foundation
import Testing

/// `GET /metrics` of real `chorus agent` processes while they work: every family README's
/// "Metrics" table lists is there, and each one moves.
@Suite("metrics of agent processes", .serialized, .timeLimit(.minutes(3)))
struct MetricsAgentTests {
    static func scrape(_ admin: String) async -> MetricSamples {
        MetricSamples(parsing: await AdminClient.get(admin, "/metrics")?.body ?? "")
    }

    /// Polls `admin`'s metrics until `condition` holds (20 s at most); the last page, and whether it held.
    static func eventually(_ admin: String, _ condition: (MetricSamples) -> Bool) async -> (held: Bool, page: MetricSamples) {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let page = await scrape(admin)
            if condition(page) { return (true, page) }
            if ContinuousClock.now >= deadline { return (false, page) }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The family names in README's "Metrics" table.
    static func documentedFamilies() throws -> Set<String> {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "\n## Metrics\n").dropFirst().first?.components(separatedBy: "\n## ").first)
        return Set(section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `chorus_") else { return nil }
            return line.dropFirst(3).prefix { $0 != "`" }.description
        })
    }

    /// POSTs `body` (if any) and returns the JSON object answered, with the status.
    static func post(_ admin: String, _ path: String, _ body: String? = nil) async -> (status: Int, object: [String: Any]) {
        let answer = await AdminClient.send(admin, "POST", path, body: body, timeout: 10)
        let object = (try? JSONSerialization.jsonObject(with: Data((answer?.body ?? "").utf8))) as? [String: Any]
        return (answer?.status ?? 0, object ?? [:])
    }

    static func event(_ id: String) -> String { #"{"event_id": "\#(id)", "event_type": "T", "stream_id": "s"}"# }

    @Test("given two agents, when they join and leave groups, broadcast plain and acknowledged, write and await stores, get a garbage datagram and a frame in clear, have faults injected and one is paused, then /metrics declares every documented family from the start and each one moves")
    func everyFamilyMoves() async throws {
        let cluster = try MembershipTests.Cluster(count: 2, name: "metrics", membership: "debug_faults: true")
        try await cluster.startAll()
        let (n1, n2) = (cluster.admins[0], cluster.admins[1])
        #expect(await MembershipTests.eventually(n1, MembershipTests.allAlive(2)))
        #expect(await MembershipTests.eventually(n2, MembershipTests.allAlive(2)))
        let documented = try Self.documentedFamilies()
        let lazyFamilies: Set = ["chorus_lsn_requests_total", "chorus_lsn_notifications_total", "chorus_lsn_timeouts_total"]
        let start = (n1: await Self.scrape(n1), n2: await Self.scrape(n2))
        let declared = Set(start.n1.families.keys)
        #expect(documented.subtracting(lazyFamilies).subtracting(declared).isEmpty,
                "documented, not served: \(documented.subtracting(lazyFamilies).subtracting(declared).sorted())")
        #expect(declared.subtracting(documented).isEmpty, "served, not documented: \(declared.subtracting(documented).sorted())")
        for transport in ["udp", "tcp"] {
            for reason in ["malformed", "bad_version", "foreign_cluster", "unknown_sender", "fault_injected", "link_overflow", "unsealed",
                           "sealed", "sealed_truncated", "unknown_key", "unauthentic", "replayed"] {
                #expect(start.n1.value("chorus_dropped_packets_total", ["transport": transport, "reason": reason]) != nil, "\(transport) \(reason)")
            }
        }

        // Groups: a member of n1 joins and leaves; n2 learns of both.
        let worker = try #require(await Self.post(n1, "/v1/scopes/jobs/groups/resize/members").object["member"] as? String)
        #expect(await Self.eventually(n1) { $0.value("chorus_group_members", ["origin": "local"]) == 1 }.held)
        #expect(await AdminClient.send(n1, "DELETE", "/v1/scopes/jobs/groups/resize/members/\(worker)")?.status == 200)
        #expect(await Self.eventually(n2) { $0.value("chorus_group_leaves_total", ["origin": "remote"]) == 1 }.held)

        // Broadcasts: emitters on n1 only, on n2 only, and on both.
        _ = await Self.post(n1, "/v1/emitters/orders/here/members")
        _ = await Self.post(n2, "/v1/emitters/orders/there/members")
        _ = await Self.post(n1, "/v1/emitters/orders/both/members")
        _ = await Self.post(n2, "/v1/emitters/orders/both/members")
        #expect(await Self.eventually(n1) { $0.value("chorus_group_members", ["origin": "remote"]) == 2 }.held)
        #expect(await Self.post(n1, "/v1/emitters/orders/here/broadcast", Self.event("e1")).object["path"] as? String == "local")
        #expect(await Self.post(n1, "/v1/emitters/orders/there/broadcast", Self.event("e2")).object["path"] as? String == "remote")
        #expect(await Self.post(n1, "/v1/emitters/orders/there/broadcast?ack=true", Self.event("e3")).object["path"] as? String == "remote")
        #expect(await Self.post(n1, "/v1/emitters/orders/nobody/broadcast", Self.event("e4")).status == 409)

        // Stores: a write on n1, awaited on n2.
        #expect(await AdminClient.send(n1, "PUT", "/v1/epochs/c1")?.status == 200)
        let put = await AdminClient.send(n1, "PUT", "/v1/epochs/c1/t/p/exclusive", body: #"{"epoch": 1}"#)
        let lsn = try #require(((try? JSONSerialization.jsonObject(with: Data((put?.body ?? "").utf8))) as? [String: Any])?["lsn"] as? String)
        #expect(await Self.post(n2, "/v1/lsn/default/await", #"{"lsn": "\#(lsn)"}"#).object["status"] as? String == "ready")

        // Drops: a datagram that is not a frame, and a frame in clear (the cluster seals), to n1.
        let loop = try EventLoop(name: "garbage")
        let bind = try SocketAddress(cluster.binds[0])
        try await loop.submit {
            let socket = try UDPSocket(on: loop, bind: try SocketAddress("127.0.0.1:0"))
            try socket.send(Array("not a frame".utf8), to: bind)
        }
        let connection = try await TCPConnection.connect(on: loop, to: bind)
        try await loop.submit { connection.send(WireCodec.encode(.pong(Pong(sequence: 1, sentAtNanos: 1)))); connection.startReading() }
        let dropped = { (page: MetricSamples, transport: String, reason: String) in
            page.value("chorus_dropped_packets_total", ["transport": transport, "reason": reason]) ?? 0
        }
        #expect(await Self.eventually(n1) { page in
            dropped(page, "udp", "malformed") == dropped(start.n1, "udp", "malformed") + 1
                && dropped(page, "tcp", "unsealed") == dropped(start.n1, "tcp", "unsealed") + 1
        }.held)
        try loop.shutdown()

        // Injected faults: n1 hears nothing from n2, suspects it, finds itself struggling, declares
        // n2 dead; cleared, n2 refutes its death and is alive again.
        #expect(await AdminClient.send(n1, "PUT", "/v1/debug/faults", body: #"{"drop_inbound": ["n2"]}"#)?.status == 200)
        let faulted = await Self.eventually(n1) { page in
            (page.value("chorus_dropped_packets_total", ["reason": "fault_injected"]) ?? 0) > 0
                && (page.value("chorus_membership_local_health") ?? 0) > 0
                && page.value("chorus_members", ["status": "dead"]) == 1
        }
        #expect(faulted.held, "\(faulted.page.samples.filter { $0.name.hasPrefix("chorus_member") })")
        #expect(await AdminClient.send(n1, "DELETE", "/v1/debug/faults")?.status == 200)
        #expect(await Self.eventually(n2) { ($0.value("chorus_membership_refutations_total") ?? 0) > 0 }.held)
        #expect(await MembershipTests.eventually(n1, MembershipTests.allAlive(2)))
        #expect(await Self.eventually(n1) { $0.value("chorus_group_members", ["origin": "remote"]) == 2 }.held, "n2's emitters, synced again")

        // n2 paused: n1's write waits for n2's acknowledgement, and acknowledged broadcasts that
        // chose n2's emitter are retried on n1's.
        let paused = try #require(cluster.agents[1]).process.processIdentifier
        kill(paused, SIGSTOP)
        #expect(await AdminClient.send(n1, "PUT", "/v1/epochs/c1/t/p/exclusive", body: #"{"epoch": 2}"#)?.status == 200)
        #expect(await Self.eventually(n1) { page in
            (page.value("chorus_replication_lag_seconds", ["peer": "n2"]) ?? 0) > 0
                && (page.value("chorus_replication_pending_deltas", ["peer": "n2"]) ?? 0) >= 1
        }.held)
        var retried = false
        for attempt in 0..<40 where !retried {
            _ = await Self.post(n1, "/v1/emitters/orders/both/broadcast?ack=true", Self.event("r\(attempt)"))
            retried = (await Self.scrape(n1).value("chorus_broadcast_retries_total") ?? 0) > 0
        }
        #expect(retried)
        kill(paused, SIGCONT)
        #expect(await MembershipTests.eventually(n1, MembershipTests.allAlive(2)))

        // Then: every counter moved where its work was done.
        let end = (n1: await Self.scrape(n1), n2: await Self.scrape(n2))
        func moved(_ node: Int, _ name: String, _ labels: [String: String] = [:]) -> Bool {
            let (before, after) = node == 1 ? (start.n1, end.n1) : (start.n2, end.n2)
            return (after.value(name, labels) ?? 0) > (before.value(name, labels) ?? 0)
        }
        for name in ["chorus_membership_probes_total", "chorus_membership_indirect_probes_total", "chorus_membership_failed_probes_total",
                     "chorus_membership_suspicions_total", "chorus_membership_deaths_total", "chorus_broadcast_retries_total",
                     "chorus_broadcast_ack_seconds_count", "chorus_store_writes_total", "chorus_replication_anti_entropy_rounds_total"] {
            #expect(moved(1, name), "\(name)")
        }
        for (name, labels) in [("chorus_group_joins_total", ["origin": "local"]), ("chorus_group_leaves_total", ["origin": "local"]),
                               ("chorus_broadcast_events_total", ["path": "local"]), ("chorus_broadcast_events_total", ["path": "remote"]),
                               ("chorus_broadcast_acks_total", ["result": "accepted"]),
                               ("chorus_broadcast_failures_total", ["reason": "no_emitters"]),
                               ("chorus_replication_deltas_total", ["kind": "pushed"])] {
            #expect(moved(1, name, labels), "\(name) \(labels)")
        }
        #expect(moved(2, "chorus_membership_refutations_total"))
        #expect(moved(2, "chorus_group_joins_total", ["origin": "remote"]))
        #expect(moved(2, "chorus_replication_deltas_total", ["kind": "applied"]))
        #expect(end.n2.value("chorus_lsn_notifications_total", ["tracker": "default"]) == 1)
        #expect(documented.subtracting(end.n2.families.keys).isEmpty, "\(documented.subtracting(end.n2.families.keys).sorted())")
        #expect(end.n1.value("chorus_store_keys", ["keyspace": "replicated"]) == end.n2.value("chorus_store_keys", ["keyspace": "replicated"]))
        #expect((end.n1.value("chorus_replication_logged_deltas") ?? 0) > 0)
        #expect(end.n1.value("chorus_replication_peers") == 1)
        #expect(end.n1.value("chorus_peer_links").map { $0 >= 1 } == true)
        await cluster.stopAll()
    }
}

extension MetricsAgentTests {
    @Test("given two agents, then chorus top --config prints a table per interval with each node's members and figures, rates from the second table on; an address that does not answer is a row saying so")
    func topCommand() async throws {
        let cluster = try MembershipTests.Cluster(count: 2, name: "top")
        try await cluster.startAll()
        #expect(await MembershipTests.eventually(cluster.admins[0], MembershipTests.allAlive(2)))
        #expect(await MembershipTests.eventually(cluster.admins[1], MembershipTests.allAlive(2)))

        let top = try AgentProcess(["top", "--config", cluster.config, "--count", "2", "--interval", "0.3"], in: cluster.dir)
        #expect(await top.waitForExit() == 0, "\(top.log)")
        let tables = top.log.components(separatedBy: "\n\n").map { table in
            table.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        }
        #expect(tables.count == 2, "\(top.log)")
        for (index, rows) in tables.enumerated() {
            #expect(rows.first == ["NODE", "MEMBERS", "HEALTH", "PROBES/S", "FAIL/S", "GROUPS", "BCAST/S", "ACK-P99", "RETRY/S", "LAG",
                                   "PENDING", "DROP/S"], "\(top.log)")
            #expect(rows.dropFirst().map { $0.prefix(2) } == [["n1", "2/0/0"], ["n2", "2/0/0"]], "\(top.log)")
            let probeRates = rows.dropFirst().map { $0[3] }
            #expect(index == 0 ? probeRates == ["-", "-"] : probeRates.allSatisfy { Double($0) != nil }, "\(top.log)")
        }

        let silent = "127.0.0.1:\(try FreePorts.take(1)[0])"
        let partly = try AgentProcess(["top", "--admin", cluster.admins[0], "--admin", silent, "--count", "1"], in: cluster.dir)
        #expect(await partly.waitForExit() == 0, "\(partly.log)")
        let rows = partly.log.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(rows.count == 3 && rows[1].hasPrefix("\(cluster.admins[0]) 2/0/0") && rows[2] == "\(silent) no answer", "\(partly.log)")
        await cluster.stopAll()
    }
}
