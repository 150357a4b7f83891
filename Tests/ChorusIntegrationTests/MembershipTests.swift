import Chorus
import ChorusLoop
import ChorusTestSupport
import ChorusWire
import Foundation
import Testing

/// Membership between real `chorus agent` processes on 127.0.0.1 (profile local unless said).
@Suite("membership between agent processes", .serialized, .timeLimit(.minutes(2)))
struct MembershipTests {
    /// What a test reads of `GET /v1/members`.
    struct MemberView: Decodable, Equatable {
        var name: String
        var uid: String
        var status: String
    }

    /// A cluster file with `count` nodes on free ports, and the agents started from it.
    final class Cluster: @unchecked Sendable {
        // Safety: used only from the test task that made it.
        let dir: String
        let config: String
        let binds: [String]
        let admins: [String]
        var agents: [AgentProcess?]

        init(count: Int, name: String, membership: String = "") throws {
            dir = try scratchDirectory()
            let ports = try FreePorts.take(count * 2)
            let binds = (0..<count).map { "127.0.0.1:\(ports[$0])" }
            let admins = (0..<count).map { "127.0.0.1:\(ports[count + $0])" }
            self.binds = binds
            self.admins = admins
            config = dir + "/cluster.yaml"
            let nodes = (0..<count).map { i in
                "  - {name: n\(i + 1), bind: \"\(binds[i])\", admin: \"\(admins[i])\", data_dir: data/n\(i + 1)}"
            }
            try """
                cluster: \(name)
                profile: local
                encrypt_key: \(TestKeys.cluster)
                seeds: ["\(binds[0])", "\(binds[1])"]
                \(membership)
                nodes:
                \(nodes.joined(separator: "\n"))
                """.write(toFile: config, atomically: true, encoding: .utf8)
            agents = Array(repeating: nil, count: count)
        }

        func start(_ index: Int) throws {
            agents[index] = try AgentProcess(["agent", "--config", config, "--node", "n\(index + 1)"], in: dir)
        }

        func startAll() async throws {
            for i in agents.indices { try start(i) }
            for admin in admins { #expect(await AdminClient.waitForHealth(admin) != nil) }
        }

        func stopAll() async {
            for agent in agents { await agent?.stop() }
        }

        var logs: String { agents.compactMap { $0?.log }.joined(separator: "\n-----\n") }
    }

    static func members(_ admin: String) async -> [MemberView] {
        guard let answer = await AdminClient.get(admin, "/v1/members"), answer.status == 200 else { return [] }
        return (try? JSONDecoder().decode([MemberView].self, from: Data(answer.body.utf8))) ?? []
    }

    static func uid(_ admin: String) async -> String? {
        guard let answer = await AdminClient.get(admin, "/v1/self"),
              let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] else { return nil }
        return object["uid"] as? String
    }

    /// Polls until `condition` holds for the members `admin` reports, or `timeout` passes.
    static func eventually(_ admin: String, timeout: Duration = .seconds(20),
                           _ condition: ([MemberView]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            // One look after the deadline too: a test starved of CPU still judges what is there.
            if condition(await members(admin)) { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    static func allAlive(_ count: Int) -> ([MemberView]) -> Bool {
        { views in views.count == count && views.allSatisfy { $0.status == "alive" } }
    }

    @Test("given three agents, then they converge to all alive; a killed one is declared dead by every survivor; restarted, it is alive with a new uid")
    func convergeCrashRestart() async throws {
        let cluster = try Cluster(count: 3, name: "crash")
        try await cluster.startAll()
        for admin in cluster.admins {
            let converged = await Self.eventually(admin, Self.allAlive(3))
            let views = await Self.members(admin)
            #expect(converged, "\(admin): \(views)\n\(cluster.logs)")
        }

        // When n3's process is killed (SIGKILL: no goodbye).
        let oldUID = try #require(await Self.uid(cluster.admins[2]))
        let killedAt = ContinuousClock.now
        kill(try #require(cluster.agents[2]).process.processIdentifier, SIGKILL)
        // Then every survivor declares it dead.
        for admin in cluster.admins.prefix(2) {
            let dead = await Self.eventually(admin) { views in views.contains { $0.name == "n3" && $0.status == "dead" } }
            let views = await Self.members(admin)
            #expect(dead, "\(admin): \(views)")
            print("kill -9 -> n3 dead at \(admin) after \(ContinuousClock.now - killedAt)")
        }
        _ = await cluster.agents[2]?.waitForExit()

        // When it restarts under the same name.
        try cluster.start(2)
        #expect(await AdminClient.waitForHealth(cluster.admins[2]) != nil)
        let newUID = try #require(await Self.uid(cluster.admins[2]))
        #expect(newUID != oldUID)
        // Then everyone sees it alive with its new uid, and nobody believes it dead.
        for admin in cluster.admins {
            let back = await Self.eventually(admin) { views in
                Self.allAlive(3)(views) && views.contains { $0.name == "n3" && $0.uid == newUID }
            }
            let views = await Self.members(admin)
            #expect(back, "\(admin): \(views)")
        }
        await cluster.stopAll()
    }

    @Test("given three agents, when one is stopped with SIGTERM, then it leaves: every survivor records it as left, not dead")
    func terminateLeavesGracefully() async throws {
        let cluster = try Cluster(count: 3, name: "leave")
        try await cluster.startAll()
        for admin in cluster.admins { #expect(await Self.eventually(admin, Self.allAlive(3))) }

        // When n3 gets SIGTERM.
        #expect(await cluster.agents[2]?.stop() == 0, "it exits 0")

        // Then the survivors say it left, and keep saying so (its refused port is no death).
        for admin in cluster.admins.prefix(2) {
            let left = await Self.eventually(admin) { views in views.contains { $0.name == "n3" && $0.status == "left" } }
            let views = await Self.members(admin)
            #expect(left, "\(admin): \(views)\n\(cluster.logs)")
        }
        try await Task.sleep(for: .seconds(1))
        for admin in cluster.admins.prefix(2) {
            let status = await Self.members(admin).first { $0.name == "n3" }?.status
            #expect(status == "left")
        }
        await cluster.stopAll()
    }

    @Test("given two agents, then chorus members prints their table and --json the API's list; a silent address exits 1 with the reason")
    func membersCommand() async throws {
        let cluster = try Cluster(count: 2, name: "cli")
        try await cluster.startAll()
        #expect(await Self.eventually(cluster.admins[0], Self.allAlive(2)))

        let table = try AgentProcess(["members", "--admin", cluster.admins[0]], in: cluster.dir)
        #expect(await table.waitForExit() == 0)
        let lines = table.log.split(separator: "\n")
        #expect(lines.first?.hasPrefix("NAME") == true, "\(table.log)")
        #expect(lines.filter { $0.hasPrefix("n1 ") || $0.hasPrefix("n2 ") }.allSatisfy { $0.contains(" alive ") }, "\(table.log)")
        #expect(lines.count == 3, "\(table.log)")

        let json = try AgentProcess(["members", "--config", cluster.config, "--node", "n2", "--json"], in: cluster.dir)
        #expect(await json.waitForExit() == 0)
        let list = try JSONSerialization.jsonObject(with: Data(json.log.utf8)) as? [[String: Any]]
        #expect(list?.compactMap { $0["name"] as? String }.sorted() == ["n1", "n2"], "\(json.log)")

        let silent = try FreePorts.take(1)[0]
        let failed = try AgentProcess(["members", "--admin", "127.0.0.1:\(silent)", "--timeout", "1"], in: cluster.dir)
        #expect(await failed.waitForExit() == 1)
        #expect(failed.log.contains("no answer from the admin API at 127.0.0.1:\(silent)"), "\(failed.log)")
        #expect(failed.log.contains("Connection refused"), "\(failed.log)")
        await cluster.stopAll()
    }

    @Test("given lan timers, when a node is paused (SIGSTOP) for 2 s, then no survivor declares it dead")
    func pausedNodeIsNotDead() async throws {
        let cluster = try Cluster(count: 3, name: "pause", membership: """
            membership:
              probe_interval: 1s
              probe_timeout: 500ms
              gossip_interval: 200ms
              suspicion_multiplier: 4
            """)
        try await cluster.startAll()
        for admin in cluster.admins {
            let converged = await Self.eventually(admin, Self.allAlive(3))
            let views = await Self.members(admin)
            #expect(converged, "\(admin): \(views)")
        }
        let pid = try #require(cluster.agents[2]).process.processIdentifier
        kill(pid, SIGSTOP)
        var seenDead = false
        let resumeAt = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < resumeAt {
            for admin in cluster.admins.prefix(2) {
                if await Self.members(admin).contains(where: { $0.name == "n3" && $0.status == "dead" }) { seenDead = true }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(pid, SIGCONT)
        for admin in cluster.admins {
            let converged = await Self.eventually(admin, Self.allAlive(3))
            let views = await Self.members(admin)
            #expect(converged, "\(admin): \(views)")
        }
        for admin in cluster.admins.prefix(2) {
            if await Self.members(admin).contains(where: { $0.name == "n3" && $0.status == "dead" }) { seenDead = true }
        }
        #expect(!seenDead, "a paused node was declared dead\n\(cluster.logs)")
        await cluster.stopAll()
    }

    @Test("given garbage to POST /v1/join, malformed membership datagrams and garbage frames after a hello (sealed with the cluster key, and in clear), then the node answers 400, drops the rest and stays a healthy member")
    func badInputKeepsNodeHealthy() async throws {
        let cluster = try Cluster(count: 2, name: "garbage")
        try await cluster.startAll()
        #expect(await Self.eventually(cluster.admins[0], Self.allAlive(2)))

        let join = await AdminClient.send(cluster.admins[0], "POST", "/v1/join", body: "{\"addresses\": [42, \"x\"]}")
        #expect(join?.status == 400)
        #expect(join?.body.contains("bad_request") == true)

        let target = try SocketAddress(cluster.binds[0])
        let loop = try EventLoop(name: "garbage")
        // Garbage from a holder of the key gets past the seal to the parsers, which must refuse it.
        var sealer = Sealer(keyring: Keyring(primary: try ClusterKey(base64: TestKeys.cluster)), cluster: "garbage")
        // Datagrams with a valid header of type membership and a payload that does not parse.
        let header: [UInt8] = [0xC4, 0x0F, 1, MessageType.membership.rawValue]
        let datagrams = [0, 1, 7, 64, 300].map { length in
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            let size = UInt32(payload.count)
            return header + [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)] + payload
        }
        let sealedDatagrams = datagrams.map { sealer.seal($0) }
        try await loop.submit {
            let socket = try UDPSocket(on: loop, bind: try SocketAddress("127.0.0.1:0"))
            for datagram in sealedDatagrams + datagrams { try? socket.send(datagram, to: target) }
        }
        // A TCP link with a proper hello, then a sync frame whose payload is garbage.
        let connection = try await TCPConnection.connect(on: loop, to: target)
        let hello = WireCodec.encode(.hello(Hello(cluster: "garbage", node: "intruder", uid: NodeUID(rawValue: 7),
                                                  bindAddress: "127.0.0.1:9", software: "test")))
        let sealedHello = sealer.seal(hello)
        let sealedGarbage = sealer.seal([0xC4, 0x0F, 1, MessageType.membershipSync.rawValue, 0, 0, 0, 5, 1, 2, 3, 4, 5])
        try await loop.submit {
            connection.send(sealedHello)
            connection.send(sealedGarbage)
            connection.startReading()
        }
        // And a link in clear, refused at its first frame.
        let clear = try await TCPConnection.connect(on: loop, to: target)
        try await loop.submit {
            clear.send(hello)
            clear.startReading()
        }
        #expect(await cluster.agents[0]!.waitForLog("dropped datagram"), "\(cluster.agents[0]!.log)")
        #expect(await cluster.agents[0]!.waitForLog("malformed frame"), "\(cluster.agents[0]!.log)")
        #expect(await cluster.agents[0]!.waitForLog("in clear"), "\(cluster.agents[0]!.log)")
        try loop.shutdown()

        #expect(await AdminClient.get(cluster.admins[0], "/v1/health")?.status == 200)
        #expect(await Self.eventually(cluster.admins[0], Self.allAlive(2)))
        #expect(await Self.eventually(cluster.admins[1], Self.allAlive(2)))
        #expect(cluster.agents[0]!.isRunning)
        await cluster.stopAll()
    }

    @Test("given debug_faults, when n1 drops all membership traffic with n2, then n1 declares n2 dead; when the faults are cleared, n2 is alive again")
    func injectedFaults() async throws {
        let cluster = try Cluster(count: 2, name: "faults", membership: "debug_faults: true")
        try await cluster.startAll()
        #expect(await Self.eventually(cluster.admins[0], Self.allAlive(2)))
        let set = await AdminClient.send(cluster.admins[0], "PUT", "/v1/debug/faults",
                                         body: #"{"drop_inbound": ["n2"], "drop_outbound": ["n2"]}"#)
        #expect(set?.status == 200, "\(set?.body ?? "no answer")")
        let dead = await Self.eventually(cluster.admins[0]) { views in views.contains { $0.name == "n2" && $0.status == "dead" } }
        let views = await Self.members(cluster.admins[0])
        #expect(dead, "\(views)")
        #expect(await AdminClient.send(cluster.admins[0], "DELETE", "/v1/debug/faults")?.status == 200)
        let healed = await Self.eventually(cluster.admins[0], Self.allAlive(2))
        let after = await Self.members(cluster.admins[0])
        #expect(healed, "\(after)\n\(cluster.logs)")
        await cluster.stopAll()
    }
}
