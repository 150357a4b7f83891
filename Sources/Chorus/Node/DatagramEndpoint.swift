import ChorusLoop
import ChorusSeal
import ChorusWire
import Logging

/// The node's UDP side, on the failure-detector loop: one datagram is one frame, sealed when the
/// cluster has a keyring. Datagrams that do not open, and malformed ones, are dropped, counted and
/// logged (throttled); they never reach a protocol core.
final class DatagramEndpoint: @unchecked Sendable {
    // Safety of @unchecked Sendable: created off-loop, then used only on `loop`.

    let loop: EventLoop
    private let bind: SocketAddress
    private let logger: Logger
    private let rejections: RejectionLog
    private var socket: UDPSocket?
    /// Seals and opens the datagrams; nil when the cluster runs without a keyring.
    private var seal: LoopSeal?
    /// Membership datagrams, with their sender's address, for the membership shell; set by the
    /// node before `start`.
    var onMembership: ((MembershipPacket, SocketAddress) -> Void)?

    init(loop: EventLoop, bind: SocketAddress, logger: Logger) {
        self.loop = loop
        self.bind = bind
        self.logger = logger
        self.rejections = RejectionLog(logger: logger)
    }

    /// Seals and opens with `keyring` from now on (set before `start` for a sealed cluster).
    func useKeyring(_ keyring: Keyring, version: UInt64, cluster: String) {
        loop.preconditionInLoop()
        if seal == nil { seal = LoopSeal(keyring: keyring, version: version, cluster: cluster) } else { seal!.update(keyring, version: version) }
    }

    /// Binds and starts receiving. Throws `EADDRINUSE` and friends.
    func start() throws(LoopError) {
        loop.preconditionInLoop()
        let socket = try UDPSocket(on: loop, bind: bind)
        socket.onPacket = { [unowned self] bytes, from in self.received(bytes, from: from) }
        socket.onError = { [logger] error in logger.warning("udp receive failed: \(error)") }
        try socket.startReceiving()
        self.socket = socket
    }

    private func received(_ packet: UnsafeRawBufferPointer, from sender: SocketAddress) {
        guard seal != nil else { return dispatch(packet, from: sender) }
        // Opened before anything parses it.
        let inner: [UInt8]
        do {
            inner = try seal!.open(packet, maxPayload: WireLimits.maxUDPPacket)
        } catch {
            rejections.reject(transport: "udp", reason: error.reason, nowMillis: loop.nowMillis,
                              "dropped datagram of \(packet.count) bytes from \(sender): \(error)")
            return
        }
        inner.withUnsafeBytes { dispatch($0, from: sender) }
    }

    private func dispatch(_ packet: UnsafeRawBufferPointer, from sender: SocketAddress) {
        let message: Message
        do {
            message = try WireCodec.decode(frame: packet, maxPayload: WireLimits.maxUDPPacket)
        } catch {
            rejections.reject(transport: "udp", reason: error.reasonLabel, nowMillis: loop.nowMillis,
                              "dropped datagram of \(packet.count) bytes from \(sender): \(error)")
            return
        }
        switch message {
        case .ping(let ping):
            send(WireCodec.encode(.pong(Pong(sequence: ping.sequence, sentAtNanos: ping.sentAtNanos))), to: sender)
        case .pong, .transportProbe:
            break
        case .hello, .membershipSync, .groupsDiscover, .groupsSync, .groupsDelta, .groupsDigest, .memberMessage,
             .emitterDelivery, .emitterAck, .topicMessage, .emitterBatch, .replication:
            rejections.reject(transport: "udp", reason: "unexpected_type", nowMillis: loop.nowMillis,
                              "dropped datagram from \(sender): a \(message.type) belongs on TCP")
        case .membership(let packet):
            onMembership?(packet, sender)
        case .sealed:
            rejections.reject(transport: "udp", reason: "sealed", nowMillis: loop.nowMillis,
                              "dropped a sealed datagram from \(sender): this node has no keyring (insecure)")
        }
    }

    /// Sends one datagram; a failure (no route, full buffer) is logged and the datagram lost,
    /// as a datagram may be.
    func send(_ datagram: [UInt8], to address: SocketAddress) {
        loop.preconditionInLoop()
        do {
            try socket?.send(seal == nil ? datagram : seal!.seal(datagram), to: address)
        } catch {
            logger.debug("udp send to \(address) failed: \(error)")
        }
    }

    func stop() {
        loop.preconditionInLoop()
        socket?.close()
    }
}
