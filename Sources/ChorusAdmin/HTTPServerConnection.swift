import ChorusLoop

/// The part of an `HTTPServer` that lives on its loop: the listener, the connections and the
/// idle sweep.
final class HTTPServerCore: @unchecked Sendable {
    // Safety of @unchecked Sendable: created off the loop, then touched on the loop's thread only
    // (every entry point runs there).

    let loop: EventLoop
    let configuration: HTTPServer.Configuration
    let responder: any HTTPResponder
    /// How long a connection that was answered for the last time keeps reading (and dropping) what
    /// its client still sends, waiting for the client to close first.
    let lingerMillis: UInt64
    private var listener: TCPListener?
    private var sweep: LoopTimer?
    private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]

    static let connectionOptions = TCPConnection.Options.rawBytes(highWatermark: 1 << 20, lowWatermark: 256 << 10,
                                                                  flushThreshold: 16 << 10, readBufferSize: 16 << 10)

    init(loop: EventLoop, configuration: HTTPServer.Configuration, responder: any HTTPResponder) {
        self.loop = loop
        self.configuration = configuration
        self.responder = responder
        lingerMillis = min(configuration.idleTimeoutMillis, 2_000)
    }

    func listen(on address: SocketAddress) throws(LoopError) -> SocketAddress {
        loop.preconditionInLoop()
        let listener = try TCPListener(on: loop, bind: address, connectionOptions: Self.connectionOptions)
        listener.onAccept = { [unowned self] connection in accept(connection) }
        self.listener = listener
        let period = max(10, min(1_000, configuration.idleTimeoutMillis / 4))
        sweep = loop.scheduleTimer(afterMillis: period, repeatMillis: period) { [unowned self] _ in closeIdleConnections() }
        return listener.localAddress
    }

    private func accept(_ connection: TCPConnection) {
        // Connections answered for the last time (lingering) do not count against the cap, but
        // are bounded too: past twice the cap, a new client is closed without an answer.
        guard connections.count < 2 * configuration.maxConnections else {
            connection.close()
            return
        }
        let handler = HTTPServerConnection(connection: connection, core: self)
        connections[ObjectIdentifier(handler)] = handler
        connection.onClose = { [unowned self] _ in connections[ObjectIdentifier(handler)] = nil }
        if connections.values.count(where: { $0.isServing }) > configuration.maxConnections {
            handler.refuse(status: .serviceUnavailable,
                           message: "more than \(configuration.maxConnections) clients at once; try again later")
        } else {
            handler.start()
        }
    }

    private func closeIdleConnections() {
        let now = loop.nowMillis
        for connection in Array(connections.values) { connection.closeIfIdle(now: now) }
    }

    func stop() {
        loop.preconditionInLoop()
        sweep?.cancel()
        listener?.close()
        for connection in Array(connections.values) { connection.close() }
        connections.removeAll()
    }
}

/// One client of an `HTTPServer`: feeds what it reads to a parser and writes the answers, in
/// order, one request at a time.
final class HTTPServerConnection: @unchecked Sendable {
    // Safety of @unchecked Sendable: touched on the loop's thread only; a task that computes an
    // answer hands it back with `loop.execute`.

    private let connection: TCPConnection
    private unowned let core: HTTPServerCore
    private var parser: HTTPRequestParser
    /// A task is computing the answer to the current request.
    private var answering = false
    /// An answer refused by backpressure, sent again when the client has read.
    private var unsent: (bytes: [UInt8], keepAlive: Bool)?
    /// After the last answer (`Connection: close`, a refusal): what comes is read and dropped
    /// until the client closes or the linger time passes.
    private var closing = false
    /// When the connection times out: unless a request completes (or, while `unsent`, the client
    /// reads; while `closing`, the client closes).
    private var deadline: UInt64
    /// A sweep found the deadline passed. The next one acts: libuv runs timers before it polls
    /// for I/O, so after a stalled iteration a request may be waiting unread; the poll between two
    /// sweeps reads it first.
    private var pastDeadline = false

    init(connection: TCPConnection, core: HTTPServerCore) {
        self.connection = connection
        self.core = core
        parser = HTTPRequestParser(limits: core.configuration.limits)
        deadline = core.loop.nowMillis + core.configuration.idleTimeoutMillis
    }

    private func extendDeadline(by millis: UInt64) {
        deadline = core.loop.nowMillis + millis
        pastDeadline = false
    }

    /// Whether the connection still takes requests (it counts against the connection cap).
    var isServing: Bool { !closing }

    func start() {
        connection.onFrame = { [unowned self] bytes in
            guard !closing else { return }
            parser.append(bytes)
            process()
        }
        connection.onWritable = { [unowned self] in writable() }
        connection.startReading()
    }

    /// Answers `status` at once and closes: for a client the server will not serve.
    func refuse(status: HTTPStatus, message: String) {
        start()
        send(core.responder.errorResponse(status: status, message: message), keepAlive: false)
    }

    /// Answers every whole request the parser holds, until one has to wait.
    private func process() {
        while !answering && unsent == nil && !closing && !connection.isClosed {
            guard let event = parser.next() else {
                if parser.takeContinueRequest() { connection.send(Array("HTTP/1.1 \(HTTPStatus.continue)\r\n\r\n".utf8)) }
                return
            }
            switch event {
            case .failure(let error):
                send(core.responder.errorResponse(status: error.status, message: error.message), keepAlive: false)
            case .request(let request):
                let keepAlive = request.keepAlive
                let echoKeepAlive = keepAlive && request.minorVersion == 0
                switch core.responder.respond(to: request) {
                case .now(let response):
                    send(response, keepAlive: keepAlive, echoKeepAlive: echoKeepAlive)
                case .later(let operation):
                    answering = true
                    connection.pauseReading()
                    let loop = core.loop
                    Task {
                        let response = await operation()
                        loop.execute { self.answered(response, keepAlive: keepAlive, echoKeepAlive: echoKeepAlive) }
                    }
                case .whenReady(let operation):
                    answering = true
                    connection.pauseReading()
                    let loop = core.loop
                    operation { response in
                        loop.execute { self.answered(response, keepAlive: keepAlive, echoKeepAlive: echoKeepAlive) }
                    }
                }
            }
        }
    }

    private func answered(_ response: HTTPResponse, keepAlive: Bool, echoKeepAlive: Bool) {
        answering = false
        guard !connection.isClosed else { return }
        send(response, keepAlive: keepAlive, echoKeepAlive: echoKeepAlive)
        resume()
    }

    /// Queues an answer; after the last one, shuts the sending side and lingers.
    private func send(_ response: HTTPResponse, keepAlive: Bool, echoKeepAlive: Bool = false) {
        let bytes = response.encoded(server: core.configuration.serverName, keepAlive: keepAlive, keepAliveAsked: echoKeepAlive)
        switch connection.send(bytes) {
        case .queued:
            sent(keepAlive: keepAlive)
        case .backpressured:
            unsent = (bytes, keepAlive)
            connection.pauseReading()
        case .closed:
            closing = true
        }
    }

    private func sent(keepAlive: Bool) {
        guard !keepAlive else {
            extendDeadline(by: core.configuration.idleTimeoutMillis)
            return
        }
        closing = true
        extendDeadline(by: core.lingerMillis)
        connection.shutdownAfterFlush()
        connection.resumeReading()
    }

    /// The client read enough of the answers: send the one that waited, then go on.
    private func writable() {
        extendDeadline(by: core.configuration.idleTimeoutMillis)
        guard let (bytes, keepAlive) = unsent else { return }
        guard connection.send(bytes) == .queued else { return }
        unsent = nil
        sent(keepAlive: keepAlive)
        resume()
    }

    private func resume() {
        guard !answering, unsent == nil, !closing, !connection.isClosed else { return }
        connection.resumeReading()
        process()
    }

    /// Once the deadline has passed (seen by two sweeps), and no answer is being computed: answers
    /// 408 when part of a request came (and the client reads), else closes.
    func closeIfIdle(now: UInt64) {
        guard !answering, now >= deadline else { return }
        guard pastDeadline else {
            pastDeadline = true
            return
        }
        if closing || unsent != nil || !parser.hasPartialRequest {
            connection.close()
            return
        }
        let timeout = core.responder.errorResponse(status: .requestTimeout,
                                                   message: "the request did not arrive within \(core.configuration.idleTimeoutMillis) ms")
        send(timeout, keepAlive: false)
    }

    func close() {
        closing = true
        connection.close()
    }
}
