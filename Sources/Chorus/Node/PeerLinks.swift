import ChorusLoop
import ChorusWire
import Logging
import Metrics

/// A node-to-node TCP connection and what we know of the node at its other end.
final class PeerLink {
    enum State {
        /// No hello yet: the first frame must be a hello from a node of our cluster.
        case awaitingHello
        case established(PeerInfo)
    }

    let connection: TCPConnection
    /// The seed address we dialled, for outbound links.
    let dialled: SocketAddress?
    var state: State = .awaitingHello

    init(connection: TCPConnection, dialled: SocketAddress?) {
        self.connection = connection
        self.dialled = dialled
    }
}

/// A node this node has exchanged hellos with.
public struct PeerInfo: Sendable, Equatable {
    public var name: String
    public var uid: NodeUID
    /// The address the peer says it listens on.
    public var bindAddress: String
}

/// The node's TCP side, on the data loop: the listener, the links to peers, and the seeds it keeps
/// dialling until they answer.
///
/// Rules:
/// - every link starts with a hello in both directions; a first frame that is not a hello, or a
///   hello from another cluster, closes the link with a logged reason;
/// - a frame that fails to parse closes the link (a stream cannot be resynchronised) and is counted;
/// - a seed that cannot be reached is dialled again every `redialMillis` until a link to it stands.
final class PeerLinks: @unchecked Sendable {
    // Safety of @unchecked Sendable: created off-loop, then used only on `loop` (checked by the
    // loop handles it owns); the node reaches it only through `loop.execute`/`submit`.

    let loop: EventLoop
    private let settings: NodeSettings
    private let uid: NodeUID
    private let logger: Logger
    private let rejections: RejectionLog
    private var listener: TCPListener?
    private var links: [ObjectIdentifier: PeerLink] = [:]
    private var seedsWanted: Set<SocketAddress> = []
    private var redialTimer: LoopTimer?
    private let redialMillis: UInt64 = 1000
    private let probesReceived = Counter(label: "chorus_transport_probes_total")
    private let linksGauge = Gauge(label: "chorus_peer_links")

    init(loop: EventLoop, settings: NodeSettings, uid: NodeUID, logger: Logger) {
        self.loop = loop
        self.settings = settings
        self.uid = uid
        self.logger = logger
        self.rejections = RejectionLog(logger: logger)
    }

    private var hello: Hello {
        Hello(cluster: settings.cluster, node: settings.name, uid: uid,
              bindAddress: "\(settings.bind)", software: "chorus \(ClusterNode.version)")
    }

    /// Listens on the bind address and starts dialling the seeds. Throws `EADDRINUSE` and friends.
    func start() throws(LoopError) {
        loop.preconditionInLoop()
        let options = TCPConnection.Options(framing: WireFraming())
        let listener = try TCPListener(on: loop, bind: settings.bind, connectionOptions: options)
        listener.onAccept = { [unowned self] connection in self.adopt(connection, dialled: nil) }
        listener.onError = { [logger] error in logger.warning("accept failed: \(error)") }
        self.listener = listener
        seedsWanted = Set(settings.seeds.filter { $0 != settings.bind })
        dialSeeds()
        redialTimer = loop.scheduleTimer(afterMillis: redialMillis, repeatMillis: redialMillis) { [unowned self] _ in
            self.dialSeeds()
        }
    }

    /// Peers with an established link.
    var peers: [PeerInfo] {
        loop.preconditionInLoop()
        var byUID: [NodeUID: PeerInfo] = [:]
        for link in links.values {
            if case .established(let info) = link.state { byUID[info.uid] = info }
        }
        return byUID.values.sorted { $0.name < $1.name }
    }

    private func dialSeeds() {
        let linked = Set(links.values.compactMap(\.dialled))
        for seed in seedsWanted where !linked.contains(seed) {
            TCPConnection.connect(on: loop, to: seed, options: .init(framing: WireFraming())) { [weak self] result in
                guard let self else { return }
                switch result {
                case .success(let connection):
                    self.adopt(connection, dialled: seed)
                case .failure(let error):
                    self.logger.debug("seed \(seed) not reachable yet: \(error.name)")
                }
            }
        }
    }

    private func adopt(_ connection: TCPConnection, dialled: SocketAddress?) {
        let link = PeerLink(connection: connection, dialled: dialled)
        let key = ObjectIdentifier(connection)
        links[key] = link
        linksGauge.record(links.count)
        connection.onFrame = { [unowned self, unowned link] frame in self.received(frame, on: link) }
        connection.onClose = { [weak self] reason in
            guard let self else { return }
            self.links.removeValue(forKey: key)
            self.linksGauge.record(self.links.count)
            self.closed(link, reason: reason)
        }
        connection.startReading()
        connection.send(WireCodec.encode(.hello(hello)))
    }

    private func closed(_ link: PeerLink, reason: TCPConnection.CloseReason) {
        let peer = link.connection.remoteAddress.map { "\($0)" } ?? "?"
        switch reason {
        case .badFrame(let error):
            rejections.reject(transport: "tcp", reason: rejectionReason(error), nowMillis: loop.nowMillis,
                              "closed connection from \(peer): malformed frame: \(error)")
        case .error(let error):
            logger.info("connection with \(peer) failed: \(error)")
        case .endOfStream, .local:
            if case .established(let info) = link.state {
                logger.info("link to \(info.name) (\(info.uid)) closed: \(reason)")
            }
        }
    }

    private func received(_ frame: UnsafeRawBufferPointer, on link: PeerLink) {
        let message: Message
        do {
            message = try WireCodec.decode(frame: frame)
        } catch {
            refuse(link, reason: error.reasonLabel, "malformed frame: \(error)")
            return
        }
        switch (link.state, message) {
        case (.awaitingHello, .hello(let hello)):
            accept(hello, on: link)
        case (.awaitingHello, _):
            refuse(link, reason: "no_hello", "expected a hello first, got \(message.type)")
        case (.established, .hello):
            refuse(link, reason: "second_hello", "a second hello on one connection")
        case (.established, .ping(let ping)):
            link.connection.send(WireCodec.encode(.pong(Pong(sequence: ping.sequence, sentAtNanos: ping.sentAtNanos))))
        case (.established, .pong):
            break
        case (.established, .transportProbe):
            probesReceived.increment()
        case (.established, .membership):
            refuse(link, reason: "unexpected_type", "a membership datagram belongs on UDP")
        case (.established, .membershipSync):
            // The failure detector's shell is not wired into the node yet (issue 3 in progress).
            rejections.reject(transport: "tcp", reason: "membership_not_running", nowMillis: loop.nowMillis,
                              "dropped membership sync from \(link.connection.remoteAddress.map { "\($0)" } ?? "?"): membership is not running on this node")
        }
    }

    private func accept(_ hello: Hello, on link: PeerLink) {
        guard hello.cluster == settings.cluster else {
            refuse(link, reason: "foreign_cluster", "node \(hello.node) belongs to cluster \"\(hello.cluster)\", not \"\(settings.cluster)\"")
            return
        }
        guard hello.uid != uid else {
            link.connection.close() // we dialled ourselves through another address
            return
        }
        let info = PeerInfo(name: hello.node, uid: hello.uid, bindAddress: hello.bindAddress)
        link.state = .established(info)
        logger.info("linked with \(info.name) (\(info.uid)) at \(info.bindAddress)")
    }

    private func refuse(_ link: PeerLink, reason: String, _ message: String) {
        let peer = link.connection.remoteAddress.map { "\($0)" } ?? "?"
        rejections.reject(transport: "tcp", reason: reason, nowMillis: loop.nowMillis, "closing connection from \(peer): \(message)")
        link.connection.close()
    }

    /// Closes the listener, the links and the redial timer.
    func stop() {
        loop.preconditionInLoop()
        redialTimer?.cancel()
        listener?.close()
        for link in links.values { link.connection.close() }
    }
}
