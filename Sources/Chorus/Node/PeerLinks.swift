import ChorusLoop
import ChorusSeal
import ChorusWire
import Logging
import CoreMetrics

/// A node-to-node TCP connection and what we know of the node at its other end.
final class PeerLink {
    enum State {
        /// No hello yet: the first frame must be a hello from a node of our cluster.
        case awaitingHello
        case established(PeerInfo)
    }

    let connection: TCPConnection
    /// The address we dialled, for outbound links.
    let dialled: SocketAddress?
    var state: State = .awaitingHello
    /// Frames to send once the hellos are exchanged (membership messages for a new link).
    var pending: [[UInt8]] = []
    /// Frames the connection refused past its high watermark, sent in order once it drains.
    private var overflow: [[UInt8]] = []
    private var overflowHead = 0
    private var overflowBytes = 0

    /// Bytes a link holds beyond its connection's own queue before it drops frames: a burst
    /// (a broadcast loop, a large sync) waits here for the peer to read, a peer that stopped
    /// reading does not take all our memory.
    static let maxOverflowBytes = 64 << 20

    /// Queues `frame` behind anything already waiting. False when it was dropped: the overflow is full.
    func send(_ frame: [UInt8]) -> Bool {
        if overflowHead == overflow.count, connection.send(frame) != .backpressured { return true }
        guard overflowBytes + frame.count <= Self.maxOverflowBytes else { return false }
        overflow.append(frame)
        overflowBytes += frame.count
        return true
    }

    /// Whether a frame sent now would go straight to the connection (nothing waits in the
    /// overflow and the connection is under its high watermark).
    var isWritable: Bool { overflowHead == overflow.count && connection.isWritable }

    /// The connection drained: sends what waits until it refuses again.
    func drainOverflow() {
        while overflowHead < overflow.count {
            guard connection.send(overflow[overflowHead]) != .backpressured else { break }
            overflowBytes -= overflow[overflowHead].count
            overflowHead += 1
        }
        if overflowHead == overflow.count {
            overflow.removeAll(keepingCapacity: false)
            overflowHead = 0
        } else if overflowHead > 4096 && overflowHead * 2 > overflow.count {
            overflow.removeFirst(overflowHead)
            overflowHead = 0
        }
    }

    /// The node-to-node address of the node at the other end, as far as we know it.
    var peerAddress: String? {
        if case .established(let info) = state { return info.bindAddress }
        return dialled.map { "\($0)" }
    }

    var isEstablished: Bool {
        if case .established = state { return true }
        return false
    }

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
/// dialling until they answer. It also carries the membership protocol's stream messages (syncs and
/// fallback pings) and gives it crash evidence.
///
/// Rules:
/// - with a keyring, every frame is sealed (`SealedFrame`); a frame that is not, or does not open
///   (another key, another cluster's name, altered), closes the link before anything parses it,
///   and is counted;
/// - every link starts with a hello in both directions; a first frame that is not a hello, or a
///   hello from another cluster, closes the link with a logged reason;
/// - a frame that fails to parse closes the link (a stream cannot be resynchronised) and is counted;
/// - a seed that cannot be reached is dialled again every `redialMillis` until a link to it stands;
/// - a frame for the node at an address goes over a link to it, or a new link whose hello exchange
///   it waits for; a dial that fails is reported to membership (`onUndeliverable`), refused or not;
/// - membership names the addresses of its active members (`wanted`); a link to each is kept, and
///   when an established one closes it is dialled again at once: a refused dial means the process is
///   gone (a crashed node's port refuses; a paused one still accepts), which membership acts on;
/// - injected faults (`debug_faults`) cut the traffic of the peers they name, after the hellos:
///   frames from a `dropInbound` peer are dropped on arrival, frames to a `dropOutbound` peer are
///   not sent.
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
    /// The link frames to an address go over, kept while it stands, so that two links to one peer
    /// (each side dialled) never reorder what is sent to it.
    private var routes: [String: PeerLink] = [:]
    private var seedsWanted: Set<SocketAddress> = []
    /// Addresses of the active members, from membership.
    private var wanted: Set<String> = []
    /// Dials in progress, with the frames waiting for them.
    private var dialling: [String: [[UInt8]]] = [:]
    private var stopping = false
    /// Seals and opens the frames; nil when the cluster runs without a keyring.
    private var seal: LoopSeal?
    private var faults = InjectedFaults.none
    /// Membership messages (`.membership`, `.membershipSync`) from established links, with the
    /// sender's node-to-node address. Set before `start`.
    var onMembership: (@Sendable (Message, String) -> Void)?
    /// Groups messages from established links, with the sender as its hello named it. Set before
    /// `start`; called on this loop.
    var onGroups: ((Message, PeerInfo) -> Void)?
    /// Broadcast events from established links (they skip `onGroups`). Set before `start`;
    /// called on this loop.
    var onEmitterDelivery: ((EmitterDelivery, PeerInfo) -> Void)?
    /// Batches of plain broadcast events from established links (they skip `onGroups`).
    var onEmitterBatch: ((EmitterBatch, PeerInfo) -> Void)?
    /// Replication frames from established links: the type and the payload, valid during the
    /// call only. Set before `start`; called on this loop.
    var onReplication: ((MessageType, UnsafeRawBufferPointer, PeerInfo) -> Void)?
    /// An established link closed and no other established link to that node run remains. Called
    /// on this loop.
    var onLinkLost: ((PeerInfo) -> Void)?
    /// The link to this address can take frames again after it refused some. Called on this loop.
    var onWritable: ((String) -> Void)?
    /// A link to a node of the cluster finished its hello exchange. Called on this loop.
    var onLinkEstablished: ((PeerInfo) -> Void)?
    /// A frame for this address could not be delivered; `true` when the connection was refused.
    var onUndeliverable: (@Sendable (String, Bool) -> Void)?
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

    /// Seals and opens with `keyring` from now on (set before `start` for a sealed cluster).
    func useKeyring(_ keyring: Keyring, version: UInt64) {
        loop.preconditionInLoop()
        if seal == nil {
            seal = LoopSeal(keyring: keyring, version: version, cluster: settings.cluster)
        } else {
            seal!.update(keyring, version: version)
        }
    }

    /// What goes on the wire for `frame`: sealed, with a keyring.
    private func wire(_ frame: [UInt8]) -> [UInt8] {
        seal == nil ? frame : seal!.seal(frame)
    }

    /// Frames as they travel: sealed ones are a little bigger than the frames they hold.
    private static let framing = WireFraming(maxPayload: WireLimits.maxFramePayload + SealedFrame.overhead)

    /// Listens on the bind address and starts dialling the seeds. Throws `EADDRINUSE` and friends.
    func start() throws(LoopError) {
        loop.preconditionInLoop()
        let options = TCPConnection.Options(framing: Self.framing)
        let listener = try TCPListener(on: loop, bind: settings.bind, connectionOptions: options)
        listener.onAccept = { [unowned self] connection in self.adopt(connection, dialled: nil) }
        listener.onError = { [logger] error in logger.warning("accept failed: \(error)") }
        self.listener = listener
        seedsWanted = Set(settings.seeds.filter { $0 != settings.bind })
        dialMissing()
        redialTimer = loop.scheduleTimer(afterMillis: redialMillis, repeatMillis: redialMillis) { [unowned self] _ in
            self.dialMissing()
        }
    }

    /// Queues `frame` for the node listening at `address`: over an established link to it, else
    /// once a link being set up is established, else through a new dial. A `prompt` frame leaves
    /// an idle link at once rather than with the loop's batch before it blocks (see
    /// `TCPConnection.flushNow`): for a change the peers wait to see, such as a join.
    func send(_ frame: [UInt8], toNodeAt address: String, prompt: Bool = false) {
        loop.preconditionInLoop()
        guard !stopping else { return }
        if let link = route(to: address) {
            transmit(frame, on: link)
            if prompt { link.connection.flushNow() }
        } else if let link = links.values.first(where: { !$0.isEstablished && $0.peerAddress == address }) {
            Self.enqueue(frame, in: &link.pending)
        } else if dialling[address] != nil {
            Self.enqueue(frame, in: &dialling[address]!)
        } else {
            dial(address, frames: [frame])
        }
    }

    /// Whether frames to `address` would go out now: false only while an established link to it
    /// holds frames back (the peer reads slower than we send). With no link yet, `send` dials.
    func isWritable(toNodeAt address: String) -> Bool {
        loop.preconditionInLoop()
        return route(to: address)?.isWritable ?? true
    }

    /// The established link frames to `address` take: the route while it stands, else any
    /// established link to it, which becomes the route.
    private func route(to address: String) -> PeerLink? {
        if let link = routes[address] { return link }
        guard let link = links.values.first(where: { $0.isEstablished && $0.peerAddress == address }) else { return nil }
        routes[address] = link
        return link
    }

    private func transmit(_ frame: [UInt8], on link: PeerLink) {
        if !faults.dropOutbound.isEmpty, case .established(let info) = link.state, faults.dropsOutbound(to: info.name) {
            rejections.count(transport: "tcp", reason: "fault_injected")
            return
        }
        if !link.send(wire(frame)) {
            rejections.reject(transport: "tcp", reason: "link_overflow", nowMillis: loop.nowMillis,
                              "dropped a frame to \(link.peerAddress ?? "?"): more than \(PeerLink.maxOverflowBytes) bytes wait for it")
        }
    }

    /// Frames kept for a link that is not up yet; past this the oldest go (a node that accepts
    /// but never says hello, e.g. paused, must not make us hoard its pings).
    static let maxPendingFrames = 64

    private static func enqueue(_ frame: [UInt8], in queue: inout [[UInt8]]) {
        if queue.count >= maxPendingFrames { queue.removeFirst() }
        queue.append(frame)
    }

    /// The addresses of the members membership considers active: links to them are kept.
    ///
    /// A link to a member newly wanted is dialled after a random delay of up to 10 ms per wanted
    /// member (at most 250 ms): when a whole cluster starts at once, every node would otherwise
    /// dial every other in the same instant, and that burst of connections and hellos competes
    /// for the CPU with the failure detector while the cluster forms. A frame to send dials at
    /// once (`send`), whatever the delay.
    func setWanted(_ addresses: Set<String>) {
        loop.preconditionInLoop()
        guard !stopping else { return }
        wanted = addresses.subtracting(["\(settings.bind)"])
        let spread = UInt64(min(250, 10 * wanted.count))
        for address in wanted where !hasLink(to: address) && !dialScheduled.contains(address) {
            dialScheduled.insert(address)
            let delay = spread == 0 ? 0 : UInt64.random(in: 0...spread)
            loop.scheduleTimer(afterMillis: delay) { [weak self] _ in
                guard let self else { return }
                self.dialScheduled.remove(address)
                if !self.stopping, self.wanted.contains(address), !self.hasLink(to: address) { self.dial(address, frames: []) }
            }
        }
    }

    /// Addresses with a dial waiting for its delay (see `setWanted`).
    private var dialScheduled: Set<String> = []

    private func hasLink(to address: String) -> Bool {
        dialling[address] != nil || links.values.contains { $0.peerAddress == address }
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

    /// Dials the seeds and wanted members that have no link.
    private func dialMissing() {
        let linked = Set(links.values.compactMap(\.dialled))
        for seed in seedsWanted where !linked.contains(seed) && dialling["\(seed)"] == nil {
            dial("\(seed)", frames: [])
        }
        for address in wanted where !hasLink(to: address) { dial(address, frames: []) }
    }

    private func dial(_ address: String, frames: [[UInt8]]) {
        guard let target = try? SocketAddress(address) else {
            logger.warning("cannot dial \"\(address)\": not a numeric host:port")
            if !frames.isEmpty { onUndeliverable?(address, false) }
            return
        }
        dialling[address] = frames
        TCPConnection.connect(on: loop, to: target, options: .init(framing: Self.framing)) { [weak self] result in
            guard let self else { return }
            let frames = self.dialling.removeValue(forKey: address) ?? []
            switch result {
            case .success(let connection):
                if self.stopping {
                    connection.close()
                    return
                }
                self.adopt(connection, dialled: target).pending = frames
            case .failure(let error):
                let refused = error.name == "ECONNREFUSED"
                self.logger.debug("\(address) not reachable: \(error.name)")
                // Refusal only counts as evidence for members still wanted, or for a real message.
                if !self.stopping && (self.wanted.contains(address) || !frames.isEmpty) {
                    self.onUndeliverable?(address, refused)
                }
            }
        }
    }

    @discardableResult
    private func adopt(_ connection: TCPConnection, dialled: SocketAddress?) -> PeerLink {
        let link = PeerLink(connection: connection, dialled: dialled)
        let key = ObjectIdentifier(connection)
        links[key] = link
        linksGauge.record(links.count)
        // unowned(unsafe): called per frame; this object owns the link, the link its connection, the
        // connection this closure.
        connection.onFrame = { [unowned(unsafe) self, unowned(unsafe) link] frame in self.received(frame, on: link) }
        connection.onWritable = { [unowned self, unowned link] in
            link.drainOverflow()
            if link.isWritable, let address = link.peerAddress { self.onWritable?(address) }
        }
        connection.onClose = { [weak self] reason in
            guard let self else { return }
            self.links.removeValue(forKey: key)
            if let address = link.peerAddress, self.routes[address] === link { self.routes.removeValue(forKey: address) }
            self.linksGauge.record(self.links.count)
            self.closed(link, reason: reason)
            if case .established(let info) = link.state,
               !self.links.values.contains(where: { if case .established(let other) = $0.state { other.uid == info.uid } else { false } }) {
                self.onLinkLost?(info)
            }
            if !self.stopping, !link.pending.isEmpty, let address = link.peerAddress {
                self.onUndeliverable?(address, false) // it went away before the hellos
            }
            // A link to a member that was up went down: find out at once whether its process is
            // gone (the dial is refused) or merely unreachable.
            if !self.stopping, link.isEstablished, let address = link.peerAddress, self.wanted.contains(address),
               !self.hasLink(to: address) {
                self.dial(address, frames: [])
            }
        }
        connection.startReading()
        connection.send(wire(WireCodec.encode(.hello(hello))))
        return link
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
        if !faults.dropInbound.isEmpty, case .established(let info) = link.state, faults.dropsInbound(from: info.name) {
            rejections.count(transport: "tcp", reason: "fault_injected")
            return
        }
        guard seal != nil else { return dispatch(frame, on: link) }
        // Opened before anything parses it.
        let inner: [UInt8]
        do {
            inner = try seal!.open(frame, maxPayload: WireLimits.maxFramePayload)
        } catch {
            refuse(link, reason: error.reason, "frame does not open: \(error)")
            return
        }
        inner.withUnsafeBytes { dispatch($0, on: link) }
    }

    private func dispatch(_ frame: UnsafeRawBufferPointer, on link: PeerLink) {
        // The hottest frames, broadcast events, are decoded into their bodies alone (no `Message`
        // to build and copy through the dispatch below).
        if frame.count > FrameHeader.size, case .established(let info) = link.state {
            do {
                switch frame[3] {
                case MessageType.emitterBatch.rawValue:
                    onEmitterBatch?(try WireCodec.decode(EmitterBatch.self, as: .emitterBatch, frame: frame), info)
                    return
                case MessageType.emitterDelivery.rawValue:
                    onEmitterDelivery?(try WireCodec.decode(EmitterDelivery.self, as: .emitterDelivery, frame: frame), info)
                    return
                case MessageType.replicaDigest.rawValue, MessageType.replicaDeltas.rawValue,
                     MessageType.replicaSnapshotPart.rawValue:
                    // Replication payloads are decoded straight from the frame by the stores.
                    let (type, payload) = try WireCodec.payload(of: frame)
                    onReplication?(type, payload, info)
                    return
                default:
                    break
                }
            } catch {
                refuse(link, reason: error.reasonLabel, "malformed frame: \(error)")
                return
            }
        }
        let message: Message
        do {
            message = try WireCodec.decode(frame: frame)
        } catch {
            refuse(link, reason: error.reasonLabel, "malformed frame: \(error)")
            return
        }
        guard case .established(let info) = link.state else {
            if case .hello(let hello) = message {
                accept(hello, on: link)
            } else {
                refuse(link, reason: "no_hello", "expected a hello first, got \(message.type)")
            }
            return
        }
        switch message {
        case .hello:
            refuse(link, reason: "second_hello", "a second hello on one connection")
        case .ping(let ping):
            link.connection.send(wire(WireCodec.encode(.pong(Pong(sequence: ping.sequence, sentAtNanos: ping.sentAtNanos)))))
        case .pong:
            break
        case .sealed:
            refuse(link, reason: "sealed", "a sealed frame, but this node has no keyring (insecure)")
        case .transportProbe:
            probesReceived.increment()
        case .membership, .membershipSync:
            // Syncs, and fallback pings and their acks: the failure detector's, on its loop.
            onMembership?(message, info.bindAddress)
        case let .replication(frame):
            // Only reached by a frame the fast path above did not take (never, for an established
            // link); kept for completeness.
            frame.payload.withUnsafeBytes { onReplication?(frame.type, $0, info) }
        case .groupsDiscover, .groupsSync, .groupsDelta, .groupsDigest, .memberMessage, .emitterDelivery, .emitterAck,
             .topicMessage, .emitterBatch:
            // Groups traffic, handled on this loop; the hello said which node run sent it.
            onGroups?(message, info)
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
        // Queued frames go over the route (this link unless one was there first), in order.
        let route = self.route(to: info.bindAddress) ?? link
        for frame in link.pending { transmit(frame, on: route) }
        link.pending = []
        onLinkEstablished?(info)
    }

    private func refuse(_ link: PeerLink, reason: String, _ message: String) {
        let peer = link.connection.remoteAddress.map { "\($0)" } ?? "?"
        rejections.reject(transport: "tcp", reason: reason, nowMillis: loop.nowMillis, "closing connection from \(peer): \(message)")
        link.connection.close()
    }

    /// Replaces the injected faults (`.none` clears them).
    func setFaults(_ faults: InjectedFaults) {
        loop.preconditionInLoop()
        self.faults = faults
    }

    /// Closes the listener, the links and the redial timer.
    func stop() {
        loop.preconditionInLoop()
        stopping = true
        redialTimer?.cancel()
        listener?.close()
        for link in links.values { link.connection.close() }
    }
}
