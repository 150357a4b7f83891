import Chorus
import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import Logging
import Prometheus
import Testing

/// The keyring over the admin API (`chorus keys`): ids out, keys in, each refusal with its code.
@Suite("Admin API keys", .serialized, .timeLimit(.minutes(1)))
struct AdminKeysAPITests {
    static func withAdmin(keyring: Keyring?, _ body: (String, ClusterNode) async throws -> Void) async throws {
        let ports = try FreePorts.take(2)
        var settings = NodeSettings(cluster: "keys", name: "n1", bind: try SocketAddress(host: "127.0.0.1", port: ports[1]),
                                    admin: try SocketAddress(host: "127.0.0.1", port: ports[0]), dataDir: try scratchDirectory(), profile: .local)
        settings.keyring = keyring
        let node = try ClusterNode(settings: settings)
        let admin = AdminServer(node: node, address: settings.admin!, metrics: PrometheusCollectorRegistry(), logger: Logger(label: "test"))
        try await node.start()
        try await admin.start()
        let address = "127.0.0.1:\(ports[0])"
        do {
            try await body(address, node)
        } catch {
            await admin.stop()
            await node.stop()
            throw error
        }
        await admin.stop()
        await node.stop()
    }

    static func body(_ key: String) -> String { "{\"key\": \"\(key)\"}" }

    @Test("given a sealed node, then GET /v1/keys shows key ids only, and install, use and remove rotate its keyring with 200s")
    func rotateThroughTheAPI() async throws {
        let key = try ClusterKey(base64: TestKeys.cluster), other = try ClusterKey(base64: TestKeys.other)
        try await Self.withAdmin(keyring: Keyring(primary: key)) { address, node in
            let listed = try #require(await AdminClient.get(address, "/v1/keys"))
            #expect(listed.status == 200)
            #expect(listed.body.contains("\"primary\":\"\(key.id)\"") && !listed.body.contains(TestKeys.cluster), "\(listed.body)")
            let installed = try #require(await AdminClient.send(address, "POST", "/v1/keys/install", body: Self.body(TestKeys.other)))
            #expect(installed.status == 200 && installed.body.contains("\"changed\":true"), "\(installed.body)")
            let again = try #require(await AdminClient.send(address, "POST", "/v1/keys/install", body: Self.body(TestKeys.other)))
            #expect(again.status == 200 && again.body.contains("\"changed\":false"), "\(again.body)")
            let used = try #require(await AdminClient.send(address, "POST", "/v1/keys/use", body: Self.body(TestKeys.other)))
            #expect(used.status == 200 && used.body.contains("\"primary\":\"\(other.id)\""), "\(used.body)")
            let removed = try #require(await AdminClient.send(address, "POST", "/v1/keys/remove", body: Self.body(TestKeys.cluster)))
            #expect(removed.status == 200, "\(removed.body)")
            #expect(node.keyringStatus().keys == [other.id])
        }
    }

    @Test("given refusals, then each says why with its code and changes nothing: not a key 400, unknown 404, the primary 409")
    func refusals() async throws {
        let key = try ClusterKey(base64: TestKeys.cluster)
        try await Self.withAdmin(keyring: Keyring(primary: key)) { address, node in
            let cases: [(String, String, Int, String)] = [
                ("/v1/keys/install", Self.body("c2hvcnQ="), 400, "invalid_key"),
                ("/v1/keys/install", "{\"key\": 7}", 400, "bad_request"),
                ("/v1/keys/install", "{\"key\": \"\(TestKeys.other)\", \"extra\": 1}", 400, "bad_request"),
                ("/v1/keys/use", Self.body(TestKeys.other), 404, "unknown_key"),
                ("/v1/keys/remove", Self.body(TestKeys.other), 404, "unknown_key"),
                ("/v1/keys/remove", Self.body(TestKeys.cluster), 409, "primary_key"),
            ]
            for (path, body, status, code) in cases {
                let answer = try #require(await AdminClient.send(address, "POST", path, body: body))
                #expect(answer.status == status && answer.body.contains("\"\(code)\""), "\(path) \(body): \(answer.status) \(answer.body)")
            }
            #expect(node.keyringStatus() == KeyringStatus(insecure: false, primary: key.id, keys: [key.id]))
        }
    }

    @Test("given an insecure node, then GET /v1/keys says so and a change is refused with 409 insecure")
    func insecureNode() async throws {
        try await Self.withAdmin(keyring: nil) { address, _ in
            let listed = try #require(await AdminClient.get(address, "/v1/keys"))
            #expect(listed.status == 200 && listed.body.contains("\"insecure\":true") && listed.body.contains("\"primary\":null"), "\(listed.body)")
            let refused = try #require(await AdminClient.send(address, "POST", "/v1/keys/install", body: Self.body(TestKeys.other)))
            #expect(refused.status == 409 && refused.body.contains("\"insecure\""), "\(refused.body)")
        }
    }
}
