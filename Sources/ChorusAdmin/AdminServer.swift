import Chorus
import ChorusLoop
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
        router.get("/metrics") { _, _ in
            var text: [UInt8] = []
            metrics.emit(into: &text)
            return Response(status: .ok,
                            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        return router
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
