import Chorus
import ChorusAdmin
import ChorusLoop
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing
import Yams

@Suite("Admin API", .timeLimit(.minutes(1)))
struct AdminAPITests {
    static func withAdmin(_ body: (AdminServer, ClusterNode) async throws -> Void) async throws {
        let settings = NodeSettings(cluster: "test", name: "n1", bind: try SocketAddress("127.0.0.1:0"),
                                    admin: try SocketAddress("127.0.0.1:0"),
                                    dataDir: NSTemporaryDirectory() + "chorus-admin-\(UUID())", profile: .local)
        let node = try ClusterNode(settings: settings)
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "chorus_test_total").increment()
        let admin = AdminServer(node: node, address: settings.admin!, metrics: registry, logger: Logger(label: "test"))
        do {
            try await body(admin, node)
            await node.stop()
        } catch {
            await node.stop()
            throw error
        }
    }

    @Test("GET /v1/health answers ok with the node's name")
    func health() async throws {
        try await Self.withAdmin { admin, _ in
            let app = Application(router: admin.makeRouter())
            try await app.test(.router) { client in
                try await client.execute(uri: "/v1/health", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try JSONDecoder().decode(HealthResponse.self, from: Data(response.body.readableBytesView))
                    #expect(body == HealthResponse(status: "ok", node: "n1"))
                }
            }
        }
    }

    @Test("GET /v1/self says name, uid, bind, profile and version")
    func selfDescription() async throws {
        try await Self.withAdmin { admin, node in
            let app = Application(router: admin.makeRouter())
            try await app.test(.router) { client in
                try await client.execute(uri: "/v1/self", method: .get) { response in
                    let body = try JSONDecoder().decode(SelfResponse.self, from: Data(response.body.readableBytesView))
                    #expect(body.name == "n1")
                    #expect(body.uid == "\(node.uid)")
                    #expect(body.uid.count == 16)
                    #expect(body.bind == "127.0.0.1:0")
                    #expect(body.profile == "local")
                    #expect(body.version == ClusterNode.version)
                    #expect(body.cluster == "test")
                }
            }
        }
    }

    @Test("GET /metrics is Prometheus text")
    func metrics() async throws {
        try await Self.withAdmin { admin, _ in
            let app = Application(router: admin.makeRouter())
            try await app.test(.router) { client in
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                    #expect(String(buffer: response.body).contains("chorus_test_total 1"))
                }
            }
        }
    }

    @Test("an unknown path answers 404 with a JSON error")
    func notFound() async throws {
        try await Self.withAdmin { admin, _ in
            let app = Application(router: admin.makeRouter())
            try await app.test(.router) { client in
                try await client.execute(uri: "/v1/nothing", method: .get) { response in
                    #expect(response.status == .notFound)
                    let body = try JSONDecoder().decode(ErrorResponse.self, from: Data(response.body.readableBytesView))
                    #expect(body.error == "not_found")
                }
            }
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
        try await Self.withAdmin { admin, _ in
            let served = Set(admin.makeRouter().routes.map { "\($0.method.rawValue) \($0.path)" })
            #expect(served == documented)
        }
    }
}
