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
    static func withAdmin(_ body: (String, ClusterNode) async throws -> Void) async throws {
        let port = try FreePorts.take(1)[0]
        let settings = NodeSettings(cluster: "test", name: "n1", bind: try SocketAddress("127.0.0.1:0"),
                                    admin: try SocketAddress(host: "127.0.0.1", port: port),
                                    dataDir: try scratchDirectory(), profile: .local)
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
            #expect(body.bind == "127.0.0.1:0")
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
