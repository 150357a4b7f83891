import ChorusTestSupport
import Foundation
import Testing

/// Admin API access with real `chorus agent` and `chorus` command processes on 127.0.0.1: the
/// token file, the commands that present it, and the loopback rule.
@Suite("admin API access of agent processes", .serialized, .timeLimit(.minutes(2)))
struct AdminAccessAgentTests {
    static let secret = "0123456789abcdef-integration-token"

    /// Runs `chorus arguments...` in `dir` to its end: its exit status and its output.
    static func run(_ arguments: [String], in dir: String) async throws -> (status: Int32?, output: String) {
        let process = try AgentProcess(arguments, in: dir)
        let status = await process.waitForExit()
        return (status, process.log)
    }

    /// Polls `GET /v1/members` with the token until `count` members are alive (20 s at most).
    static func allAlive(_ admin: String, count: Int) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let answer = await AdminClient.send(admin, "GET", "/v1/members", headers: ["Authorization": "Bearer \(secret)"])
            let views = (try? JSONDecoder().decode([MembershipTests.MemberView].self, from: Data((answer?.body ?? "").utf8))) ?? []
            if MembershipTests.allAlive(count)(views) { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("given a cluster file with admin_token_file, when its agents run, then chorus members presents the node's token with --config, exits 1 on HTTP 401 with --admin alone, presents --token-file, and no log shows the token")
    func commandsPresentTheToken() async throws {
        let cluster = try MembershipTests.Cluster(count: 2, name: "token", membership: "admin_token_file: secrets/admin.token")
        try FileManager.default.createDirectory(atPath: cluster.dir + "/secrets", withIntermediateDirectories: true)
        try (Self.secret + "\n").write(toFile: cluster.dir + "/secrets/admin.token", atomically: true, encoding: .utf8)
        try await cluster.startAll()
        defer { Task { await cluster.stopAll() } }
        #expect(await Self.allAlive(cluster.admins[0], count: 2), "\(cluster.logs)")

        let withConfig = try await Self.run(["members", "--config", cluster.config, "--node", "n1"], in: cluster.dir)
        #expect(withConfig.status == 0, "\(withConfig.output)")
        #expect(withConfig.output.contains("n2") && withConfig.output.contains("alive"), "\(withConfig.output)")

        let bare = try await Self.run(["members", "--admin", cluster.admins[0]], in: cluster.dir)
        #expect(bare.status == 1)
        #expect(bare.output.contains("HTTP 401") && bare.output.contains("unauthorized"), "\(bare.output)")

        let wrongFile = cluster.dir + "/wrong.token"
        try "not-the-token".write(toFile: wrongFile, atomically: true, encoding: .utf8)
        let wrong = try await Self.run(["epochs", "init", "c1", "--admin", cluster.admins[1], "--token-file", wrongFile], in: cluster.dir)
        #expect(wrong.status == 1 && wrong.output.contains("unauthorized"), "\(wrong.output)")

        let given = try await Self.run(["epochs", "init", "c1", "--admin", cluster.admins[1], "--token-file", "secrets/admin.token"], in: cluster.dir)
        #expect(given.status == 0, "\(given.output)")

        let listing = try await Self.run(["config", "nodes", "--config", cluster.config], in: cluster.dir)
        let columns = listing.output.split(separator: "\n").first?.split(separator: "\t").map(String.init) ?? []
        #expect(columns.count == 5 && columns[4].hasPrefix("/") && columns[4].hasSuffix("/secrets/admin.token"), "\(listing.output)")

        await cluster.stopAll()
        #expect(cluster.logs.contains("bearer token required"), "\(cluster.logs)")
        #expect(!cluster.logs.contains(Self.secret), "no log line shows the token")
        #expect(!wrong.output.contains("not-the-token") && !bare.output.contains(Self.secret))
    }

    @Test("given a token file that is missing or empty, then the agent exits 2 naming admin_token_file and the file, and does not start", arguments: ["missing", "empty"])
    func badTokenFile(kind: String) async throws {
        let cluster = try MembershipTests.Cluster(count: 2, name: "token-\(kind)", membership: "admin_token_file: admin.token")
        if kind == "empty" { try "\n".write(toFile: cluster.dir + "/admin.token", atomically: true, encoding: .utf8) }
        let agent = try AgentProcess(["agent", "--config", cluster.config, "--node", "n1"], in: cluster.dir)
        #expect(await agent.waitForExit() == 2)
        #expect(agent.log.contains("config error at admin_token_file: admin.token: "), "\(agent.log)")
        #expect(agent.log.contains(kind == "missing" ? "cannot read the file" : "the token is empty"), "\(agent.log)")
        #expect(!FileManager.default.fileExists(atPath: cluster.dir + "/data/n1"), "a node that does not start makes no data dir")

        let check = try await Self.run(["members", "--config", cluster.config, "--node", "n1"], in: cluster.dir)
        #expect(check.status == 2 && check.output.contains("admin_token_file"), "the commands refuse the file too: \(check.output)")
    }

    @Test("given a non-loopback admin address, then the agent and chorus config check refuse it unless admin_allow_remote and a token file are set, and then it serves")
    func nonLoopbackAdmin() async throws {
        let dir = try scratchDirectory()
        let ports = try FreePorts.take(2)
        let config = dir + "/open.yaml"
        func write(_ access: String) throws {
            try """
                cluster: open
                profile: local
                insecure: true
                \(access)
                nodes:
                  - {name: n1, bind: "127.0.0.1:\(ports[0])", admin: "0.0.0.0:\(ports[1])", data_dir: data/n1}
                """.write(toFile: config, atomically: true, encoding: .utf8)
        }
        try write("")
        let check = try await Self.run(["config", "check", "--config", config], in: dir)
        #expect(check.status == 2 && check.output.contains("nodes[0].admin") && check.output.contains("not a loopback address"), "\(check.output)")
        let refused = try AgentProcess(["agent", "--config", config, "--node", "n1"], in: dir)
        #expect(await refused.waitForExit() == 2)
        #expect(refused.log.contains("admin_allow_remote: true"), "\(refused.log)")

        let flags = try await Self.run(["agent", "--insecure", "--name", "f1", "--bind", "127.0.0.1:\(ports[0])", "--admin", "0.0.0.0:\(ports[1])",
                                        "--admin-allow-remote"], in: dir)
        #expect(flags.status == 2 && flags.output.contains("--admin") && flags.output.contains("needs admin_token_file"), "\(flags.output)")

        try Self.secret.write(toFile: dir + "/admin.token", atomically: true, encoding: .utf8)
        try write("admin_allow_remote: true\nadmin_token_file: admin.token")
        let agent = try AgentProcess(["agent", "--config", config, "--node", "n1"], in: dir)
        defer { Task { await agent.stop() } }
        let local = "127.0.0.1:\(ports[1])"
        #expect(await AdminClient.waitForHealth(local) != nil, "\(agent.log)")
        #expect(await AdminClient.send(local, "GET", "/v1/self")?.status == 401)
        #expect(await AdminClient.send(local, "GET", "/v1/self", headers: ["Authorization": "Bearer \(Self.secret)"])?.status == 200)
        #expect(await agent.stop() == 0)
    }
}
