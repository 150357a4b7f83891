@testable import Chorus
import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import Foundation
import Logging
import Prometheus
import Testing

/// The admin API served over real HTTP on a loopback port.
@Suite("Admin API", .timeLimit(.minutes(1)))
struct AdminAPITests {
    /// Given a node and its admin server on a free loopback port (asking for `token`, if any),
    /// runs `body` with the address.
    static func withAdmin(debugFaults: Bool = false, token: AdminToken? = nil,
                          _ body: (String, ClusterNode) async throws -> Void) async throws {
        let ports = try FreePorts.take(2)
        let port = ports[0]
        let settings = NodeSettings(cluster: "test", name: "n1", bind: try SocketAddress(host: "127.0.0.1", port: ports[1]),
                                    admin: try SocketAddress(host: "127.0.0.1", port: port),
                                    dataDir: try scratchDirectory(), profile: .local, debugFaults: debugFaults)
        let node = try ClusterNode(settings: settings)
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "chorus_test_total").increment()
        let admin = AdminServer(node: node, address: settings.admin!, metrics: registry, logger: Logger(label: "test"), token: token)
        try await admin.start()
        let address = "127.0.0.1:\(port)"
        #expect(admin.boundAddress?.description == address)
        do {
            #expect(await AdminClient.waitForHealth(address) != nil)
            try await body(address, node)
            await admin.stop()
            await node.stop()
        } catch {
            await admin.stop()
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
            for (method, body) in [("PUT", "{\"loss\": 0.5}"), ("DELETE", nil)] {
                let answer = try #require(await AdminClient.send(address, method, "/v1/debug/faults", body: body))
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
            #expect(echoed == FaultsRequest(dropInbound: ["n2"], dropOutbound: ["n3"], loss: 0.1, delayMs: 50, defects: []))
            for (body, expected) in [(#"{"loss": 2}"#, "loss must be"), (#"{"delay_ms": -1}"#, "delay_ms must be"),
                                     (#"{"drop_inbound": [1]}"#, "drop_inbound[0]"), (#"{"loss": "x"}"#, "loss: expected"),
                                     (#"{"los": 0.1}"#, "unknown field"),
                                     (#"{"defects": ["nope"]}"#, #"unknown defect \"nope\"; known: ack_without_delivery"#)] {
                let answer = try #require(await AdminClient.send(address, "PUT", "/v1/debug/faults", body: body))
                #expect(answer.status == 400, "\(body)")
                #expect(answer.body.contains(expected), "\(body): \(answer.body)")
            }
            let cleared = await AdminClient.send(address, "DELETE", "/v1/debug/faults")
            #expect(cleared?.status == 200)
            #expect(cleared?.body.contains("cleared") == true)
        }
    }

    /// Sends one request with `Connection: close` (and the header lines `headers`) over a raw
    /// socket and returns the answer.
    static func rawAnswer(_ address: String, _ method: String, _ path: String, body: String = "",
                          headers: [String] = []) async throws -> RawAnswer {
        let socket = try RawSocket(try SocketAddress(address))
        let fields = headers.map { $0 + "\r\n" }.joined()
        socket.send("\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\(fields)Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let received = await socket.readToEnd()
        #expect(received.closed, "the server closes after a Connection: close answer")
        let answers = RawAnswer.all(in: received.text)
        #expect(answers.count == 1, "\(received.text)")
        return try #require(answers.first)
    }

    /// `body` decoded as `T` and encoded again by JSONEncoder with sorted keys, as the API wrote
    /// its answers before it had its own JSON writer.
    static func reencoded<T: Codable>(_ type: T.Type, _ body: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(try JSONDecoder().decode(T.self, from: Data(body.utf8))), as: UTF8.self)
    }

    @Test("given each kind of answer, then it carries Server, Content-Type and Content-Length, and its JSON is byte for byte what JSONEncoder with sorted keys writes")
    func answersAreWrittenAsBefore() async throws {
        try await Self.withAdmin(debugFaults: true) { address, node in
            try await node.start()
            try await node.updateMeta([0xFF, 0x00, 0x41])
            var checked: [(RawAnswer, String)] = []
            let health = try await Self.rawAnswer(address, "GET", "/v1/health")
            checked.append((health, try Self.reencoded(HealthResponse.self, health.body)))
            let description = try await Self.rawAnswer(address, "GET", "/v1/self")
            checked.append((description, try Self.reencoded(SelfResponse.self, description.body)))
            let members = try await Self.rawAnswer(address, "GET", "/v1/members")
            checked.append((members, try Self.reencoded([MemberResponse].self, members.body)))
            let member = try await Self.rawAnswer(address, "GET", "/v1/members/n1")
            checked.append((member, try Self.reencoded(MemberResponse.self, member.body)))
            let faults = try await Self.rawAnswer(address, "PUT", "/v1/debug/faults",
                                                  body: #"{"drop_inbound": ["n3", "n2"], "loss": 1, "delay_ms": 5}"#)
            checked.append((faults, try Self.reencoded(FaultsRequest.self, faults.body)))
            let cleared = try await Self.rawAnswer(address, "DELETE", "/v1/debug/faults")
            checked.append((cleared, try Self.reencoded(StatusResponse.self, cleared.body)))
            let missing = try await Self.rawAnswer(address, "GET", "/v1/members/a%2Fb")
            checked.append((missing, try Self.reencoded(ErrorResponse.self, missing.body)))
            for (answer, expected) in checked {
                #expect(answer.body == expected)
                #expect(answer.headers["server"] == "chorus/\(ClusterNode.version)")
                #expect(answer.headers["content-type"] == "application/json; charset=utf-8")
                #expect(answer.headers["content-length"] == "\(answer.body.utf8.count)")
            }
            #expect(faults.body == #"{"defects":[],"delay_ms":5,"drop_inbound":["n2","n3"],"drop_outbound":[],"loss":1}"#)
            #expect(member.body.contains(#""meta":"\/wBB","meta_encoding":"base64""#), "\(member.body)")
            #expect(missing.status == 404 && missing.body.contains(#"no member named \"a\/b\""#), "\(missing.body)")
        }
    }

    @Test("given a known path asked with another method, then the answer is 405 with a JSON error and an Allow field")
    func wrongMethod() async throws {
        try await Self.withAdmin { address, _ in
            let members = try await Self.rawAnswer(address, "DELETE", "/v1/members")
            #expect(members.status == 405)
            #expect(members.headers["allow"] == "GET")
            let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(members.body.utf8))
            #expect(error.error == "method_not_allowed")
            #expect(error.message?.contains("DELETE") == true, "\(error)")
            let faults = try await Self.rawAnswer(address, "GET", "/v1/debug/faults")
            #expect(faults.status == 405)
            #expect(faults.headers["allow"] == "PUT, DELETE")
        }
    }

    @Test("given a member name percent-encoded in the path, then it is decoded; a bad encoding is 400")
    func memberNamesArePercentDecoded() async throws {
        try await Self.withAdmin { address, node in
            try await node.start()
            let answer = await AdminClient.get(address, "/v1/members/%6E1")
            let encoded = try #require(answer)
            #expect(encoded.status == 200)
            #expect(try JSONDecoder().decode(MemberResponse.self, from: Data(encoded.body.utf8)).name == "n1")
            let bad = try await Self.rawAnswer(address, "GET", "/v1/members/%FF")
            #expect(bad.status == 400)
            #expect(bad.body.contains("bad_request"), "\(bad.body)")
        }
    }

    @Test("GET /metrics is served as Prometheus text version 0.0.4")
    func metricsContentType() async throws {
        try await Self.withAdmin { address, _ in
            let answer = try await Self.rawAnswer(address, "GET", "/metrics")
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(answer.body.contains("chorus_test_total 1"))
        }
    }

    @Test("given the admin port is taken, then start() throws EADDRINUSE and leaves nothing running")
    func portInUse() async throws {
        try await Self.withAdmin { address, node in
            let second = AdminServer(node: node, address: try SocketAddress(address), metrics: PrometheusCollectorRegistry(),
                                     logger: Logger(label: "test"))
            do {
                try await second.start()
                Issue.record("a second server bound \(address)")
            } catch let error as LoopError {
                #expect(error.name == "EADDRINUSE")
                #expect("\(error)".contains("address already in use"), "\(error)")
            }
            #expect(second.boundAddress == nil)
            await second.stop()
            let health = await AdminClient.get(address, "/v1/health")
            #expect(health?.status == 200)
        }
    }

    /// docs/openapi.yaml is kept in step with the code: every route the router serves is
    /// documented with its method, and every documented operation is served.
    @Test("the OpenAPI document and the router describe the same operations")
    func openAPIInStep() async throws {
        let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let text = try String(contentsOfFile: "/\(root)/docs/openapi.yaml", encoding: .utf8)
        guard case .map(let document) = try YAMLValue.parse(text), case .map(let paths)? = document["paths"] else {
            Issue.record("docs/openapi.yaml has no paths mapping")
            return
        }
        let methods: Set<String> = ["get", "put", "post", "delete", "patch"]
        let documented = Set(paths.flatMap { path, operations -> [String] in
            guard case .map(let operations) = operations else { return [] }
            return operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
        })
        let served = Set(AdminServer.routes.map { "\($0.method) \($0.path)" })
        #expect(served.count == AdminServer.routes.count, "no route is listed twice")
        #expect(served == documented)
    }
}
