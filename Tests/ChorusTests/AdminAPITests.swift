import Chorus
import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import Foundation
import Hummingbird
import Logging
import Prometheus
import Testing
import Yams

/// The admin API served over real HTTP on a loopback port.
@Suite("Admin API", .timeLimit(.minutes(1)))
struct AdminAPITests {
    /// Given a node and its admin server on a free loopback port, runs `body` with the address.
    static func withAdmin(debugFaults: Bool = false, _ body: (String, ClusterNode) async throws -> Void) async throws {
        let ports = try FreePorts.take(2)
        let port = ports[0]
        let settings = NodeSettings(cluster: "test", name: "n1", bind: try SocketAddress(host: "127.0.0.1", port: ports[1]),
                                    admin: try SocketAddress(host: "127.0.0.1", port: port),
                                    dataDir: try scratchDirectory(), profile: .local, debugFaults: debugFaults)
        let node = try ClusterNode(settings: settings)
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "chorus_test_total").increment()
        let admin = AdminServer(node: node, address: settings.admin!, metrics: registry, logger: Logger(label: "test"))
        let server = Task { try await admin.makeApplication().run() }
        let address = "127.0.0.1:\(port)"
        defer { server.cancel() }
        do {
            #expect(await AdminClient.waitForHealth(address) != nil)
            try await body(address, node)
            await node.stop()
        } catch {
            await node.stop()
            throw error
        }
    }

    @Test("GET /v1/health answers ok with the node's name")
    func health() async throws {
        try await Self.withAdmin { address, _ in
            let answer = await AdminClient.get(address, "/v1/health")
            #expect(answer?.status == 200)
            let body = try JSONDecoder().decode(HealthResponse.self, from: Data((answer?.body ?? "").utf8))
            #expect(body == HealthResponse(status: "ok", node: "n1"))
        }
    }

    @Test("GET /v1/self says name, uid, bind, profile and version")
    func selfDescription() async throws {
        try await Self.withAdmin { address, node in
            let answer = await AdminClient.get(address, "/v1/self")
            let body = try JSONDecoder().decode(SelfResponse.self, from: Data((answer?.body ?? "").utf8))
            #expect(body.name == "n1")
            #expect(body.uid == "\(node.uid)")
            #expect(body.uid.count == 16)
            #expect(body.bind == node.settings.bind.description)
            #expect(body.admin == address)
            #expect(body.profile == "local")
            #expect(body.version == ClusterNode.version)
            #expect(body.cluster == "test")
        }
    }

    @Test("GET /metrics is Prometheus text")
    func metrics() async throws {
        try await Self.withAdmin { address, _ in
            let answer = await AdminClient.get(address, "/metrics")
            #expect(answer?.contentType?.hasPrefix("text/plain") == true)
            #expect(answer?.body.contains("chorus_test_total 1") == true)
        }
    }

    @Test("an unknown path answers 404 with a JSON error")
    func notFound() async throws {
        try await Self.withAdmin { address, _ in
            let answer = await AdminClient.get(address, "/v1/nothing")
            #expect(answer?.status == 404)
            let body = try JSONDecoder().decode(ErrorResponse.self, from: Data((answer?.body ?? "").utf8))
            #expect(body.error == "not_found")
        }
    }

    @Test("GET /v1/members lists this node, alive, with its uid, address, incarnation and meta")
    func membersListsSelf() async throws {
        try await Self.withAdmin { address, node in
            try await node.start()
            let answer = try #require(await AdminClient.get(address, "/v1/members"))
            #expect(answer.status == 200)
            let members = try JSONDecoder().decode([MemberResponse].self, from: Data(answer.body.utf8))
            #expect(members.count == 1)
            #expect(members.first?.name == "n1")
            #expect(members.first?.uid == "\(node.uid)")
            #expect(members.first?.address == node.settings.bind.description)
            #expect(members.first?.status == "alive")
            #expect(members.first?.incarnation == 0)
            #expect(members.first?.meta == "")
            #expect(members.first?.metaEncoding == "utf8")
        }
    }

    @Test("given a node, then GET /v1/members/{name} answers its own entry, and 404 with a JSON error for a stranger")
    func oneMember() async throws {
        try await Self.withAdmin { address, node in
            try await node.start()
            let own = try #require(await AdminClient.get(address, "/v1/members/n1"))
            #expect(own.status == 200)
            let member = try JSONDecoder().decode(MemberResponse.self, from: Data(own.body.utf8))
            #expect(member.name == "n1" && member.status == "alive" && member.uid == "\(node.uid)")
            let stranger = try #require(await AdminClient.get(address, "/v1/members/nobody"))
            #expect(stranger.status == 404)
            #expect(stranger.body.contains("\"not_found\"") && stranger.body.contains("no member named \\\"nobody\\\""), "\(stranger.body)")
        }
    }

    @Test("given metadata that is not UTF-8, then GET /v1/members shows it in base64; UTF-8 shows as text")
    func membersMetaEncoding() async throws {
        try await Self.withAdmin { address, node in
            try await node.start()
            try await node.updateMeta([0xFF, 0xFE, 0x00])
            var members = try JSONDecoder().decode([MemberResponse].self,
                                                   from: Data((await AdminClient.get(address, "/v1/members"))?.body.utf8 ?? "".utf8))
            #expect(members.first?.meta == "//4A")
            #expect(members.first?.metaEncoding == "base64")
            #expect(members.first?.incarnation == 1)
            try await node.updateMeta(Array("zone=a".utf8))
            members = try JSONDecoder().decode([MemberResponse].self,
                                               from: Data((await AdminClient.get(address, "/v1/members"))?.body.utf8 ?? "".utf8))
            #expect(members.first?.meta == "zone=a")
            #expect(members.first?.metaEncoding == "utf8")
        }
    }

    @Test("given a bad join body, then POST /v1/join answers 400 with a JSON error that says what is wrong", arguments: [
        ("not json", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        ("{\"addresses\": \"127.0.0.1:7301\"}", "addresses: expected"),
        ("{\"addresses\": []}", "at least one"),
        ("{\"addresses\": [\"nowhere\"]}", "addresses[0]"),
        ("{\"addresses\": [\"127.0.0.1:1\", 7]}", "addresses[1]"),
        ("{\"adresses\": [\"127.0.0.1:1\"]}", "unknown field \"adresses\""),
        ("{}", "addresses: missing"),
    ])
    func joinRefusesBadBodies(body: String, expected: String) async throws {
        try await Self.withAdmin { address, node in
            try await node.start()
            let answer = try #require(await AdminClient.send(address, "POST", "/v1/join", body: body))
            #expect(answer.status == 400)
            let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(answer.body.utf8))
            #expect(error.error == "bad_request")
            #expect(error.message?.contains(expected) == true, "\(error)")
            #expect(await AdminClient.get(address, "/v1/health")?.status == 200)
        }
    }

    @Test("given a valid join body, then POST /v1/join answers 200 and the node keeps running")
    func joinAccepted() async throws {
        try await Self.withAdmin { address, node in
            try await node.start()
            let free = try FreePorts.take(1)[0]
            let answer = await AdminClient.send(address, "POST", "/v1/join", body: "{\"addresses\": [\"127.0.0.1:\(free)\"]}")
            #expect(answer?.status == 200)
            #expect(answer?.body.contains("joining") == true)
            #expect(await node.members().count == 1, "nobody listens there, so nobody joined")
        }
    }

    @Test("POST /v1/leave makes this node left, and the node still stops cleanly")
    func leave() async throws {
        try await Self.withAdmin { address, node in
            try await node.start()
            let answer = await AdminClient.send(address, "POST", "/v1/leave")
            #expect(answer?.status == 200)
            #expect(await node.members().first?.state.status == .left)
        }
    }

    @Test("given a node without debug_faults, then the fault endpoints answer 403 with a JSON error")
    func faultsOffByDefault() async throws {
        try await Self.withAdmin { address, _ in
            for method in ["PUT", "DELETE"] {
                let answer = try #require(await AdminClient.send(address, method, "/v1/debug/faults", body: "{\"loss\": 0.5}"))
                #expect(answer.status == 403)
                let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(answer.body.utf8))
                #expect(error.error == "forbidden")
                #expect(error.message?.contains("debug_faults") == true)
            }
        }
    }

    @Test("given a node with debug_faults, then faults are set, echoed, validated and cleared")
    func faultsSetAndCleared() async throws {
        try await Self.withAdmin(debugFaults: true) { address, node in
            try await node.start()
            let set = try #require(await AdminClient.send(address, "PUT", "/v1/debug/faults",
                                                          body: #"{"drop_inbound": ["n2"], "drop_outbound": ["n3"], "loss": 0.1, "delay_ms": 50}"#))
            #expect(set.status == 200)
            let echoed = try JSONDecoder().decode(FaultsRequest.self, from: Data(set.body.utf8))
            #expect(echoed == FaultsRequest(dropInbound: ["n2"], dropOutbound: ["n3"], loss: 0.1, delayMs: 50))
            for (body, expected) in [(#"{"loss": 2}"#, "loss must be"), (#"{"delay_ms": -1}"#, "delay_ms must be"),
                                     (#"{"drop_inbound": [1]}"#, "drop_inbound[0]"), (#"{"loss": "x"}"#, "loss: expected"),
                                     (#"{"los": 0.1}"#, "unknown field")] {
                let answer = try #require(await AdminClient.send(address, "PUT", "/v1/debug/faults", body: body))
                #expect(answer.status == 400, "\(body)")
                #expect(answer.body.contains(expected), "\(body): \(answer.body)")
            }
            let cleared = await AdminClient.send(address, "DELETE", "/v1/debug/faults")
            #expect(cleared?.status == 200)
            #expect(cleared?.body.contains("cleared") == true)
        }
    }

    /// docs/openapi.yaml is kept in step with the code: every route the router serves is
    /// documented with its method, and every documented operation is served.
    @Test("the OpenAPI document and the router describe the same operations")
    func openAPIInStep() async throws {
        let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let text = try String(contentsOfFile: "/\(root)/docs/openapi.yaml", encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch"]
        let documented = Set(paths.flatMap { path, operations in
            operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
        })
        let node = try ClusterNode(settings: NodeSettings(cluster: "t", name: "n", bind: try SocketAddress("127.0.0.1:0"),
                                                          dataDir: try scratchDirectory()))
        let admin = AdminServer(node: node, address: try SocketAddress("127.0.0.1:0"),
                                metrics: PrometheusCollectorRegistry(), logger: Logger(label: "test"))
        let served = Set(admin.makeRouter().routes.map { "\($0.method.rawValue) \($0.path)" })
        await node.stop()
        #expect(served == documented)
    }
}
