import Chorus
import ChorusLoop
import Foundation
import Hummingbird
import Logging
import Prometheus

/// The HTTP admin API of a node (Hummingbird), JSON in and out, described in
/// `docs/openapi.yaml`. It listens on the node's admin address, loopback unless configured.
public struct AdminServer: Sendable {
    public let node: ClusterNode
    public let address: SocketAddress
    public let metrics: PrometheusCollectorRegistry
    public let logger: Logger

    public init(node: ClusterNode, address: SocketAddress, metrics: PrometheusCollectorRegistry, logger: Logger) {
        self.node = node
        self.address = address
        self.metrics = metrics
        self.logger = logger
    }

    /// The routes, separate from the server so tests can drive them without a socket.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(JSONErrorMiddleware())
        let node = self.node
        let metrics = self.metrics
        router.get("/v1/health") { _, _ in
            HealthResponse(status: "ok", node: node.settings.name)
        }
        router.get("/v1/self") { _, _ in
            SelfResponse(name: node.settings.name, uid: "\(node.uid)", cluster: node.settings.cluster,
                         bind: "\(node.settings.bind)", admin: node.settings.admin.map { "\($0)" },
                         profile: node.settings.profile.rawValue, version: ClusterNode.version)
        }
        router.get("/v1/members") { _, _ in
            try Self.json(await node.members().map(MemberResponse.init))
        }
        router.get("/v1/members/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let member = await node.member(named: name) else {
                throw HTTPError(.notFound, message: "no member named \"\(name)\" is known to this node")
            }
            return try Self.json(MemberResponse(member))
        }
        router.post("/v1/join") { request, _ in
            let body = try await Self.decode(JoinRequest.self, from: request, keys: ["addresses"])
            guard !body.addresses.isEmpty else {
                throw HTTPError(.badRequest, message: "addresses: expected at least one \"host:port\"")
            }
            var addresses: [SocketAddress] = []
            for (index, text) in body.addresses.enumerated() {
                do {
                    addresses.append(try SocketAddress(text))
                } catch {
                    throw HTTPError(.badRequest, message: "addresses[\(index)]: \(error)")
                }
            }
            await node.join(addresses: addresses)
            return StatusResponse(status: "joining", message: "sent a join to \(addresses.map(\.description).joined(separator: ", "))")
        }
        router.post("/v1/leave") { _, _ in
            await node.leave()
            return StatusResponse(status: "left", message: "announced; this node no longer probes or answers probes")
        }
        router.put("/v1/debug/faults") { request, _ in
            try Self.requireFaults(node)
            let body = try await Self.decode(FaultsRequest.self, from: request,
                                             keys: ["drop_inbound", "drop_outbound", "loss", "delay_ms"])
            let faults: MembershipFaults
            do {
                faults = try MembershipFaults(dropInbound: Set(body.dropInbound ?? []), dropOutbound: Set(body.dropOutbound ?? []),
                                              loss: body.loss ?? 0, delayMillis: body.delayMs ?? 0)
            } catch let error as MembershipFaultError {
                throw HTTPError(.badRequest, message: error.message)
            }
            try await node.setMembershipFaults(faults)
            return try Self.json(FaultsRequest(dropInbound: faults.dropInbound.sorted(), dropOutbound: faults.dropOutbound.sorted(),
                                               loss: faults.loss, delayMs: Int(faults.delayMillis)))
        }
        router.delete("/v1/debug/faults") { _, _ in
            try Self.requireFaults(node)
            try await node.setMembershipFaults(.none)
            return StatusResponse(status: "cleared")
        }
        router.get("/metrics") { _, _ in
            var text: [UInt8] = []
            metrics.emit(into: &text)
            return Response(status: .ok,
                            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        return router
    }

    /// Largest request body the API reads.
    static let maxBody = 64 * 1024

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// Reads a JSON object body into `T`, refusing fields outside `keys` and explaining what is
    /// wrong (400) when the body is not what the operation expects.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, keys: Set<String>) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBody)
        } catch {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(maxBody) bytes")
        }
        let data = Data(buffer.readableBytesView)
        let expected = "expected a JSON object with \(keys.sorted().joined(separator: ", "))"
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw HTTPError(.badRequest, message: "the body is not a JSON object: \(expected)")
        }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw HTTPError(.badRequest, message: "unknown field \"\(unknown)\": \(expected)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: Self.explain(error))
        }
    }

    private static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .keyNotFound(let key, _): return "\(key.stringValue): missing"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    static func requireFaults(_ node: ClusterNode) throws {
        guard node.settings.debugFaults else {
            throw HTTPError(.forbidden, message: MembershipError.faultsDisabled.description)
        }
    }

    /// The Hummingbird application, a `Service` to run in a `ServiceGroup`.
    public func makeApplication() -> some ApplicationProtocol {
        Application(router: makeRouter(),
                    configuration: .init(address: .hostname(address.host, port: Int(address.port)),
                                         serverName: "chorus/\(ClusterNode.version)"),
                    logger: logger)
    }
}

/// Turns every error, Hummingbird's own 404s included, into the API's JSON error shape.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let code = error.status.code == 404 ? "not_found" : error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            return try ErrorResponse(error: code, message: error.body ?? error.status.reasonPhrase)
                .response(from: request, context: context)
                .withStatus(error.status)
        }
    }
}

extension Response {
    func withStatus(_ status: HTTPResponse.Status) -> Response {
        var copy = self
        copy.status = status
        return copy
    }
}
