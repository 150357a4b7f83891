import Chorus
import ChorusLoop
import Logging
import Prometheus

/// The HTTP admin API of a node, JSON in and out, described in `docs/openapi.yaml`. It listens on
/// the node's admin address (loopback unless configured) with Chorus's own HTTP/1.1 server, on an
/// event loop of its own ("chorus-admin"), so slow admin clients cannot delay the failure detector.
/// With a token, every endpoint but `GET /v1/health` asks for it (`AdminResponder.unauthorized`).
///
/// ```swift
/// let admin = AdminServer(node: node, address: adminAddress, metrics: registry, logger: logger,
///                         token: try AdminToken(file: "admin.token"))
/// try await admin.start()
/// ...
/// await admin.stop()
/// ```
public final class AdminServer: Sendable {
    public let node: ClusterNode
    public let address: SocketAddress
    public let metrics: PrometheusCollectorRegistry
    public let logger: Logger
    /// The recording members made through this API; they end when the server stops.
    public let recorders: Recorders
    /// Whether requests must present a bearer token.
    public let requiresToken: Bool
    private let server: HTTPServer

    /// Every operation served, as method and path pattern (`/v1/members/{name}`), the same list
    /// the router matches.
    public static let routes: [(method: String, path: String)] = AdminRouter.routes

    /// `token`, when given, is asked of every request but `GET /v1/health`.
    public init(node: ClusterNode, address: SocketAddress, metrics: PrometheusCollectorRegistry, logger: Logger,
                recorderLimits: Recorders.Limits = Recorders.Limits(), token: AdminToken? = nil) {
        self.node = node
        self.address = address
        self.metrics = metrics
        self.logger = logger
        recorders = Recorders(node: node, limits: recorderLimits)
        requiresToken = token != nil
        server = HTTPServer(configuration: .init(serverName: "chorus/\(ClusterNode.version)", threadName: "chorus-admin"),
                            responder: AdminResponder(node: node, metrics: metrics, recorders: recorders, token: token))
    }

    /// Binds and starts serving; throws a `LoopError` (e.g. `EADDRINUSE (address already in use)`)
    /// when it cannot bind.
    public func start() async throws {
        let bound = try await server.start(address: address)
        logger.info("admin API listening on http://\(bound)\(requiresToken ? " (bearer token required)" : "")")
    }

    /// The address it listens on (after start).
    public var boundAddress: SocketAddress? { server.boundAddress }

    /// Stops listening, closes connections, joins its loop thread, and ends the recorders (they
    /// leave every group they joined).
    public func stop() async {
        await server.stop()
        recorders.endAll()
    }
}

/// The admin API's answers: routes a request, reads its body, asks the node and writes JSON.
/// What needs only this node's settings or the metrics is answered on the server's loop; what asks
/// the node's loops is answered from a task.
struct AdminResponder: HTTPResponder {
    let node: ClusterNode
    let metrics: PrometheusCollectorRegistry
    let recorders: Recorders
    /// The bearer token asked of every request but `GET /v1/health`; nil asks for none.
    let token: AdminToken?

    func respond(to request: HTTPRequest) -> HTTPHandling {
        do {
            return try handle(request)
        } catch {
            return .now(errorResponse(error))
        }
    }

    func errorResponse(status: HTTPStatus, message: String) -> HTTPResponse {
        errorResponse(HTTPError(status, message))
    }

    func errorResponse(_ error: HTTPError) -> HTTPResponse {
        .json(ErrorResponse(error).json, status: error.status)
    }

    private func handle(_ request: HTTPRequest) throws(HTTPError) -> HTTPHandling {
        let routed = AdminRouter.route(method: request.method, path: request.path)
        if routed != .success(.health), let refusal = unauthorized(request) {
            return .now(refusal)
        }
        let route: AdminRoute
        switch routed {
        case .success(let found):
            route = found
        case .failure(.notFound(let path)):
            throw HTTPError(.notFound, "no operation at \(path); see docs/openapi.yaml")
        case .failure(.methodNotAllowed(let allowed)):
            var response = errorResponse(HTTPError(.methodNotAllowed, "\(request.path) answers \(allowed.joined(separator: ", ")), not \(request.method)"))
            response.headers.append(("Allow", allowed.joined(separator: ", ")))
            return .now(response)
        case .failure(.badPath(let reason)):
            throw HTTPError(.badRequest, reason)
        }
        let query = try QueryReader(request, keys: route.queryKeys)
        if !route.readsBody { try EmptyBody.check(request.body) }
        let node = self.node
        switch route {
        case .health:
            return .now(.json(HealthResponse(status: "ok", node: node.settings.name).json))
        case .selfDescription:
            return .now(.json(SelfResponse(name: node.settings.name, uid: "\(node.uid)", cluster: node.settings.cluster,
                                           bind: "\(node.settings.bind)", admin: node.settings.admin.map { "\($0)" },
                                           profile: node.settings.profile.rawValue, version: ClusterNode.version).json))
        case .metrics:
            let metrics = self.metrics
            return .whenReady { answer in
                node.figures { figures in
                    var text: [UInt8] = []
                    metrics.emit(into: &text)
                    NodeMetrics.write(figures, into: &text)
                    answer(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: text))
                }
            }
        case .members:
            return .later { .json(await node.members().map(MemberResponse.init).json) }
        case .member(let name):
            return .later {
                guard let member = await node.member(named: name) else {
                    return errorResponse(HTTPError(.notFound, "no member named \"\(name)\" is known to this node"))
                }
                return .json(MemberResponse(member).json)
            }
        case .join:
            let body = try JoinRequest(body: request.body)
            guard !body.addresses.isEmpty else {
                throw HTTPError(.badRequest, "addresses: expected at least one \"host:port\"")
            }
            var addresses: [SocketAddress] = []
            for (index, text) in body.addresses.enumerated() {
                do {
                    addresses.append(try SocketAddress(text))
                } catch {
                    throw HTTPError(.badRequest, "addresses[\(index)]: \(error)")
                }
            }
            let seeds = addresses
            return .later {
                await node.join(addresses: seeds)
                return .json(StatusResponse(status: "joining",
                                            message: "sent a join to \(seeds.map(\.description).joined(separator: ", "))").json)
            }
        case .leave:
            return .later {
                await node.leave()
                return .json(StatusResponse(status: "left", message: "announced; this node no longer probes or answers probes").json)
            }
        case .setFaults:
            try requireFaults()
            let faults = try FaultsRequest(body: request.body).faults()
            return .later {
                do {
                    try await node.setFaults(faults)
                } catch {
                    return errorResponse(HTTPError(.forbidden, "\(error)"))
                }
                return .json(FaultsRequest(faults).json)
            }
        case .clearFaults:
            try requireFaults()
            return .later {
                do {
                    try await node.setFaults(.none)
                } catch {
                    return errorResponse(HTTPError(.forbidden, "\(error)"))
                }
                return .json(StatusResponse(status: "cleared").json)
            }
        case .keys(let route):
            return try keys(route, request)
        case .scopeGroups(let scope):
            return try scopeGroups(scope)
        case .group(let scope, let group):
            return try groupMembers(scope: scope, group: group)
        case .joinGroup(let scope, let group):
            return try addMember(request, scope: scope, group: group)
        case .leaveGroup(let scope, let group, let member):
            return try leave(scope: scope, group: group, member: member)
        case .joinEmitters(let store, let subscription):
            return try addMember(request, scope: EmitterNames.scope, group: EmitterNames.group(store: store, subscription: subscription))
        case .broadcast(let store, let subscription):
            return try broadcast(request, query, store: store, subscription: subscription)
        case .subscribe(let topic):
            return try addMember(request, scope: TopicNames.scope, group: topic)
        case .publish(let topic):
            return try publish(request, topic: topic)
        case .recorders:
            return .now(.json(RecorderListResponse(recorders.all).json))
        case .endRecorder(let member):
            return try endRecorder(member)
        case .recordedMessages(let member):
            return try recordedMessages(query, member: member)
        case .stores(let route):
            return try stores(route, request, query)
        }
    }

    private func requireFaults() throws(HTTPError) {
        guard node.settings.debugFaults else {
            throw HTTPError(.forbidden, MembershipError.faultsDisabled.description)
        }
    }
}
