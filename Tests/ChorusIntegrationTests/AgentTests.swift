import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import Foundation
import Testing

/// Real `chorus agent` processes on 127.0.0.1.
@Suite("chorus agent processes", .serialized, .timeLimit(.minutes(2)))
struct AgentTests {
    @Test("given a malformed config, then the agent names the field, exits 2 and does not start")
    func malformedConfig() async throws {
        let dir = try scratchDirectory()
        let config = dir + "/bad.yaml"
        try """
            cluster: bad
            profile: local
            insecure: true
            nodes:
              - name: n1
                bind: 127.0.0.1:notaport
                admin: 127.0.0.1:8301
                data_dir: n1
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(["agent", "--config", config, "--node", "n1"], in: dir)
        #expect(await agent.waitForExit() == 2)
        #expect(agent.log.contains("nodes[0].bind"), "\(agent.log)")
        #expect(agent.log.contains("port must be a number"), "\(agent.log)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/n1"), "a node that does not start makes no data dir")
    }

    @Test("given a port already in use, then the agent logs EADDRINUSE and exits 1")
    func portInUse() async throws {
        let dir = try scratchDirectory()
        let ports = try FreePorts.take(3)
        let first = try AgentProcess(["agent", "--insecure", "--name", "a", "--bind", "127.0.0.1:\(ports[0])",
                                      "--admin", "127.0.0.1:\(ports[1])", "--profile", "local"], in: dir)
        defer { Task { await first.stop() } }
        #expect(await AdminClient.waitForHealth("127.0.0.1:\(ports[1])") != nil)
        let second = try AgentProcess(["agent", "--insecure", "--name", "b", "--bind", "127.0.0.1:\(ports[0])",
                                       "--admin", "127.0.0.1:\(ports[2])", "--profile", "local"], in: dir)
        #expect(await second.waitForExit() == 1)
        #expect(second.log.contains("EADDRINUSE"), "\(second.log)")
        #expect(second.log.contains("127.0.0.1:\(ports[0])"))
        #expect(first.isRunning)
        #expect(await first.stop() == 0)
    }

    @Test("given a bind port above 64535, then the agent needs --admin and uses it when given")
    func highBindPort() async throws {
        let dir = try scratchDirectory()
        let refused = try AgentProcess(["agent", "--insecure", "--name", "h", "--bind", "127.0.0.1:65000"], in: dir)
        #expect(await refused.waitForExit() == 2)
        #expect(refused.log.contains("--admin is required"), "\(refused.log)")
        let ports = try FreePorts.take(1)
        let agent = try AgentProcess(["agent", "--insecure", "--name", "h", "--bind", "127.0.0.1:65001",
                                      "--admin", "127.0.0.1:\(ports[0])", "--profile", "local"], in: dir)
        #expect(await AdminClient.waitForHealth("127.0.0.1:\(ports[0])") != nil, "\(agent.log)")
        #expect(await agent.stop() == 0)
    }

    @Test("given random bytes on a node's UDP and TCP ports, then it logs what it dropped and keeps serving")
    func randomBytesDoNotCrash() async throws {
        let seed = testSeed("randomBytesDoNotCrash", fixed: 0xC40F_2026)
        var random = SplitMix64(seed: seed)
        let dir = try scratchDirectory()
        let ports = try FreePorts.take(2)
        let bind = try SocketAddress(host: "127.0.0.1", port: ports[0])
        let admin = "127.0.0.1:\(ports[1])"
        let agent = try AgentProcess(["agent", "--insecure", "--name", "target", "--bind", "\(bind)", "--admin", admin,
                                      "--profile", "local", "--cluster", "fuzz"], in: dir)
        #expect(await AdminClient.waitForHealth(admin) != nil)

        let loop = try EventLoop(name: "garbage")
        // UDP: 2,000 datagrams of random length and content, some with a valid magic and version.
        var datagrams: [[UInt8]] = []
        for i in 0..<2000 {
            var bytes = (0..<Int.random(in: 0...1500, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if i % 3 == 0, bytes.count >= 4 { bytes[0] = 0xC4; bytes[1] = 0x0F; bytes[2] = 1 }
            datagrams.append(bytes)
        }
        let packets = datagrams
        try await loop.submit {
            let socket = try UDPSocket(on: loop, bind: try SocketAddress("127.0.0.1:0"))
            for packet in packets { try? socket.send(packet, to: bind) }
        }
        // TCP: connections that send random bytes, a header with an oversized length, and a
        // frame that is not a hello.
        var streams: [[UInt8]] = (0..<20).map { _ in
            (0..<Int.random(in: 1...4096, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        streams.append([0xC4, 0x0F, 1, 2, 0xFF, 0xFF, 0xFF, 0xFF])
        streams.append([0xC4, 0x0F, 1, 2, 0, 0, 0, 16] + [UInt8](repeating: 0, count: 16))
        for stream in streams {
            let connection = try await TCPConnection.connect(on: loop, to: bind)
            try await loop.submit { connection.send(stream); connection.startReading() }
        }
        #expect(await agent.waitForLog("dropped datagram"), "\(agent.log)")
        #expect(await agent.waitForLog("closing connection from 127.0.0.1"), "\(agent.log)")
        #expect(await agent.waitForLog("bad magic"), "\(agent.log)")
        #expect(await agent.waitForLog("expected a hello first"), "\(agent.log)")
        try loop.shutdown()

        let health = await AdminClient.get(admin, "/v1/health")
        #expect(health?.status == 200)
        let metrics = await AdminClient.get(admin, "/metrics")
        let dropped = MetricSamples(parsing: metrics?.body ?? "")
        #expect((dropped.value("chorus_dropped_packets_total", ["transport": "udp", "reason": "malformed"]) ?? 0) >= 1)
        #expect((dropped.value("chorus_dropped_packets_total", ["transport": "tcp", "reason": "malformed"]) ?? 0) >= 1)
        #expect((dropped.value("chorus_dropped_packets_total", ["transport": "tcp", "reason": "unknown_sender"]) ?? 0) >= 1,
                "the frame that is not a hello")
        #expect(agent.isRunning)
        #expect(await agent.stop() == 0, "SIGTERM stops the node cleanly")
        #expect(agent.log.contains("stopped"))
    }

    @Test("given three agents from one config, then they link with each other and stop on SIGTERM")
    func threeNodesLink() async throws {
        let dir = try scratchDirectory()
        let ports = try FreePorts.take(6)
        let config = dir + "/three.yaml"
        let nodes = (0..<3).map { i in
            "  - {name: n\(i + 1), bind: \"127.0.0.1:\(ports[i])\", admin: \"127.0.0.1:\(ports[i + 3])\", data_dir: data/n\(i + 1)}"
        }
        try """
            cluster: three
            profile: local
            encrypt_key: \(TestKeys.cluster)
            seeds: ["127.0.0.1:\(ports[0])"]
            nodes:
            \(nodes.joined(separator: "\n"))
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agents = try (1...3).map { try AgentProcess(["agent", "--config", config, "--node", "n\($0)"], in: dir) }
        for i in 0..<3 {
            let body = await AdminClient.waitForHealth("127.0.0.1:\(ports[i + 3])")
            #expect(body?.contains("\"n\(i + 1)\"") == true)
        }
        #expect(await agents[0].waitForLog("linked with n2"), "\(agents[0].log)")
        #expect(await agents[0].waitForLog("linked with n3"), "\(agents[0].log)")
        #expect(FileManager.default.fileExists(atPath: dir + "/data/n2"))
        for agent in agents { #expect(await agent.stop() == 0) }
    }
}
