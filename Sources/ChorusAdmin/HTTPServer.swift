import ChorusLoop

/// How a responder answers one request: at once, on the server's loop, or later, from a task
/// (for answers that wait on something else, such as the node's loops).
public enum HTTPHandling: Sendable {
    case now(HTTPResponse)
    case later(@Sendable () async -> HTTPResponse)
    /// Answered through the callback it is given, once, from any thread, with no task in
    /// between: for an answer gathered by hops across event loops that must come even while the
    /// cooperative thread pool is busy (metrics of a node under load).
    case whenReady(@Sendable (@escaping @Sendable (HTTPResponse) -> Void) -> Void)
}

/// What an `HTTPServer` serves.
public protocol HTTPResponder: Sendable {
    /// The answer to `request`. Called on the server's loop, one request of a connection at a time,
    /// in the order they came: keep it short, and hand anything that waits to `.later`.
    func respond(to request: HTTPRequest) -> HTTPHandling
    /// The answer for a request refused before it reached `respond` (malformed, too large, too
    /// slow, too many connections), with the status and why.
    func errorResponse(status: HTTPStatus, message: String) -> HTTPResponse
}

/// A small HTTP/1.1 server on a libuv loop of its own: one `TCPConnection` per client, requests
/// cut by `HTTPRequestParser`, answered by an `HTTPResponder`.
///
/// Connections are kept alive (HTTP/1.1 unless `Connection: close`; HTTP/1.0 only when asked).
/// Pipelined requests are answered one at a time, in order: while an answer is pending the
/// connection stops reading. A connection closes when it has not completed a request within the
/// idle timeout since it opened or since its last answer (408 if part of a request came), when
/// its client stops reading answers for that long, or after a refused request. Past
/// `maxConnections`, a new client gets 503 and is closed.
public final class HTTPServer: Sendable {
    /// Limits and names of a server.
    public struct Configuration: Sendable {
        public var limits: HTTPRequestParser.Limits
        /// How long a connection may go without completing a request, or without reading answers.
        public var idleTimeoutMillis: UInt64
        /// Clients served at once.
        public var maxConnections: Int
        /// The `Server` field of every answer.
        public var serverName: String
        /// The name of the loop's thread.
        public var threadName: String

        public init(limits: HTTPRequestParser.Limits = .init(), idleTimeoutMillis: UInt64 = 30_000, maxConnections: Int = 64,
                    serverName: String, threadName: String = "chorus-http") {
            self.limits = limits
            self.idleTimeoutMillis = idleTimeoutMillis
            self.maxConnections = maxConnections
            self.serverName = serverName
            self.threadName = threadName
        }
    }

    private struct Running {
        var loop: EventLoop
        var core: HTTPServerCore
        var address: SocketAddress
    }

    public let configuration: Configuration
    private let responder: any HTTPResponder
    private let running = LockedValue<Running?>(nil)

    public init(configuration: Configuration, responder: any HTTPResponder) {
        self.configuration = configuration
        self.responder = responder
    }

    /// Starts the loop, binds `address` and serves; returns the bound address (the kernel's port
    /// when 0 was asked). Throws the `LoopError` of the bind (`EADDRINUSE`, ...), with nothing
    /// left running.
    @discardableResult
    public func start(address: SocketAddress) async throws -> SocketAddress {
        let loop = try EventLoop(name: configuration.threadName)
        let core = HTTPServerCore(loop: loop, configuration: configuration, responder: responder)
        let bound: SocketAddress
        do {
            bound = try await loop.submit { try core.listen(on: address) }
        } catch {
            try? loop.shutdown()
            throw error
        }
        let alreadyRunning = running.withLock { running -> Bool in
            if running != nil { return true }
            running = Running(loop: loop, core: core, address: bound)
            return false
        }
        if alreadyRunning {
            try? loop.shutdown()
            throw LoopError(name: "EALREADY", message: "server already started", operation: "http listen \(address)")
        }
        return bound
    }

    /// The address served, while running.
    public var boundAddress: SocketAddress? { running.withLock { $0?.address } }

    /// Stops listening, closes every connection (answers in progress are dropped) and joins the
    /// loop's thread. Idempotent.
    public func stop() async {
        guard let stopping = running.withLock({ running -> Running? in
            defer { running = nil }
            return running
        }) else { return }
        let core = stopping.core
        try? await stopping.loop.submit { core.stop() }
        try? stopping.loop.shutdown()
    }
}
