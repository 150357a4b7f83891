@_exported import ChorusMembership
@_exported import ChorusGroups
@_exported import ChorusWire
@_exported import ChorusReplication
@_exported import ChorusStores
@_exported import struct ChorusLoop.SocketAddress
import ChorusLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A Chorus node: the embedding API and the owner of the node's event loops.
///
/// Two loops, as DESIGN.md asks: the failure-detector loop carries UDP (probes and gossip) so that
/// heavy data traffic cannot delay them, and the data loop carries node-to-node TCP.
///
/// ```swift
/// let node = try ClusterNode(settings: NodeSettings(cluster: "demo", name: "n1",
///                                                   bind: try SocketAddress("127.0.0.1:7301"),
///                                                   dataDir: ".chorus/n1"))
/// try await node.start()
/// ...
/// await node.stop()
/// ```
public final class ClusterNode: Sendable {
    /// The software version, shown by `chorus version` and `/v1/self`.
    public static let version = "0.1.0"

    public let settings: NodeSettings
    /// This incarnation's identity: a restarted node gets a new uid.
    public let uid: NodeUID
    /// This node as a member: name, uid and generation (wall-clock nanoseconds at start, so that
    /// a restart is newer than the run it replaces).
    public let memberID: MemberID
    let failureDetectorLoop: EventLoop
    let dataLoop: EventLoop
    let links: PeerLinks
    let datagrams: DatagramEndpoint
    let membership: MembershipShell
    let groups: GroupsShell
    /// Emitter names per subscription (`persistEmitters`, `retrieveEmitters`).
    let emitterRegistry = EmitterRegistry()
    /// The durable, replicated stores (opened at `start`).
    let stores = NodeStores()
    /// The keyring the loops seal and open with (set at `start`; nil: insecure).
    let keys = NodeKeyring()
    let logger: Logger

    public init(settings: NodeSettings, logger: Logger? = nil) throws(LoopError) {
        self.settings = settings
        self.uid = NodeUID.random()
        self.memberID = MemberID(name: settings.name, uid: uid, generation: Self.wallClockNanos())
        var logger = logger ?? Logger(label: "chorus")
        logger[metadataKey: "node"] = "\(settings.name)"
        self.logger = logger
        failureDetectorLoop = try EventLoop(name: "chorus-fd")
        do {
            dataLoop = try EventLoop(name: "chorus-data")
        } catch {
            try? failureDetectorLoop.shutdown()
            throw error
        }
        links = PeerLinks(loop: dataLoop, settings: settings, uid: uid, logger: logger)
        datagrams = DatagramEndpoint(loop: failureDetectorLoop, bind: settings.bind, logger: logger)
        // Sealed datagrams hold a little less: the membership protocol packs to what is left.
        var membershipSettings = settings
        if settings.keyring != nil { membershipSettings.swim.udpPacketSize -= SealedFrame.overhead }
        let membership = MembershipShell(loop: failureDetectorLoop, me: memberID, settings: membershipSettings,
                                         datagrams: datagrams, links: links, logger: logger)
        self.membership = membership
        let groups = GroupsShell(loop: dataLoop, node: uid, settings: settings.groups, links: links, logger: logger)
        self.groups = groups
        let fdLoop = failureDetectorLoop
        let dataLoop = self.dataLoop
        membership.onEvent = { event in dataLoop.execute { groups.membershipChanged(event) } }
        // unowned(unsafe): called per frame; the node owns both, and stops the loop before they go.
        links.onGroups = { [unowned(unsafe) groups] message, peer in groups.received(message, from: peer) }
        links.onEmitterDelivery = { [unowned(unsafe) groups] delivery, peer in groups.received(delivery, from: peer) }
        links.onEmitterBatch = { [unowned(unsafe) groups] batch, peer in groups.received(batch, from: peer) }
        // Link events and replication frames are wired in `start`, once the stores are open.
        datagrams.onMembership = { [unowned membership] packet, sender in membership.received(packet, from: sender) }
        links.onMembership = { [weak membership] message, address in
            guard let membership else { return }
            fdLoop.execute { membership.received(message, overStreamFrom: address) }
        }
        links.onUndeliverable = { [weak membership] address, refused in
            guard let membership else { return }
            fdLoop.execute { membership.undeliverable(to: address, refused: refused) }
        }
    }

    deinit {
        // A node released without `stop()`: its loops stop here, before its shells go, so that
        // no callback ever runs on a shell that no longer exists. (After `stop()` this does nothing.)
        for loop in [dataLoop, failureDetectorLoop] where !loop.inLoop { try? loop.shutdown() }
        stores.close()
    }

    private static func wallClockNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Binds UDP and TCP on the bind address and starts joining the seeds.
    /// A port in use fails here with `EADDRINUSE`; the node is then stopped.
    public func start() async throws {
        do {
            try DataDirectory.create(settings.dataDir)
            try stores.open(settings: settings, origin: uid, loop: dataLoop, links: links, logger: logger)
            let opened = try stores.shells()
            try await useKeyringAtStart()
            let datagrams = self.datagrams
            try await failureDetectorLoop.submit { try datagrams.start() }
            let links = self.links
            let groups = self.groups
            let replicated = opened.replicated
            try await dataLoop.submit {
                // unowned(unsafe) on the per-frame closure: the node owns the shell, and stops the
                // loop before it goes.
                links.onReplication = { [unowned(unsafe) replicated] type, payload, peer in
                    replicated.received(type, payload: payload, from: peer)
                }
                links.onLinkEstablished = { [unowned groups] peer in
                    groups.linkEstablished(peer)
                    replicated.linkEstablished(peer)
                }
                links.onLinkLost = { peer in replicated.linkLost(peer) }
                links.onWritable = { [unowned groups] address in
                    groups.drainOutbound()
                    replicated.linkWritable(address)
                }
                try links.start()
            }
            try await dataLoop.submit {
                groups.start()
                opened.replicated.start()
            }
            let membership = self.membership
            try await failureDetectorLoop.submit { membership.start() }
        } catch {
            await stop()
            throw error
        }
        logger.info("node \(settings.name) (\(uid)) of cluster \(settings.cluster) listening on \(settings.bind) (udp+tcp), profile \(settings.profile.rawValue)")
        if let opened = try? stores.shells() {
            logger.info("stores: \(opened.restoredKeys) keys restored from \(settings.dataDir) in \(Int(opened.restoreSeconds * 1000)) ms")
        }
    }

    /// The node's data loop as an executor, for code that talks to the node often and wants no
    /// thread hop in between (as swift-nio's handlers run on their channel's event loop).
    ///
    /// A task that prefers it (`Task(executorPreference: node.dataLoopExecutor) { ... }` or
    /// `withTaskExecutorPreference`) runs on the data loop's thread, and so does an actor whose
    /// `unownedExecutor` is `node.dataLoopExecutor.asUnownedSerialExecutor()`. Joins from there
    /// apply at once and leave for the peers with no other thread to wake, and group reads answer
    /// the same way. Failure detection has a loop of its own and is never delayed by such code,
    /// but the node's links are: keep each step short, and hand heavy or blocking work to other
    /// tasks. Broadcasts from it never wait for a full outbound backlog
    /// (the loop that drains it is the one running them): a long burst should suspend now and
    /// then. `stop()` may be called from it; what still runs there after the node stopped runs
    /// on a queue of its own, and finds the node stopped.
    public var dataLoopExecutor: any TaskExecutor & SerialExecutor { dataLoop }

    /// Nodes this node has a link with.
    public func connectedPeers() async -> [PeerInfo] {
        let links = self.links
        return (try? await dataLoop.submit { links.peers }) ?? []
    }

    // MARK: Membership

    /// Every member this node knows, itself included, sorted by name (dead and left ones until
    /// their tombstones expire).
    public func members() async -> [Member] {
        let membership = self.membership
        return (try? await failureDetectorLoop.submit { membership.members }) ?? []
    }

    /// The member called `name` as this node sees it (itself included), or nil if it knows no
    /// member of that name. Cheaper than `members()` for watching one member.
    public func member(named name: String) async -> Member? {
        let membership = self.membership
        return (try? await failureDetectorLoop.submit { membership.member(named: name) }) ?? nil
    }

    /// Membership changes from now on: joined, suspect, alive, dead, left, updated. Any number of
    /// subscribers; each has a buffer of `MembershipEventHub.bufferSize` events and loses the
    /// oldest if it reads slower. The stream ends when the node stops.
    public func membershipEvents() -> AsyncStream<MembershipEvent> {
        membership.events.subscribe()
    }

    /// Joins the cluster through these addresses (node-to-node, any member's `bind`).
    public func join(addresses: [SocketAddress]) async {
        let membership = self.membership
        let seeds = addresses.map { "\($0)" }
        try? await failureDetectorLoop.submit { membership.join(seeds) }
    }

    /// Leaves gracefully: announces `left`, gossips it for a few gossip intervals, then stops
    /// probing and answering. Returns once that is done. `stop()` is still needed to close the node.
    public func leave() async {
        let membership = self.membership
        let loop = failureDetectorLoop
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // A node already stopped has nothing to announce.
            if !loop.execute({ membership.leave { continuation.resume() } }) { continuation.resume() }
        }
    }

    /// Sets this node's metadata (at most `WireLimits.maxMemberMeta` bytes) and announces it.
    public func updateMeta(_ bytes: [UInt8]) async throws(MembershipError) {
        guard bytes.count <= WireLimits.maxMemberMeta else { throw .metaTooLarge(bytes: bytes.count) }
        let membership = self.membership
        try? await failureDetectorLoop.submit { membership.updateMeta(bytes) }
    }

    /// Injects faults into this node's traffic with its peers, membership and links alike, and
    /// the defects they name (a node started with `debugFaults`); replaces the faults set before.
    public func setFaults(_ faults: InjectedFaults) async throws(MembershipError) {
        guard settings.debugFaults else { throw .faultsDisabled }
        logger.warning("injected faults \(faults.isNone ? "cleared" : "set: \(faults)")")
        let membership = self.membership
        let links = self.links
        let groups = self.groups
        try? await failureDetectorLoop.submit { membership.setFaults(faults) }
        try? await dataLoop.submit {
            links.setFaults(faults)
            groups.broadcasts.acksWithoutDelivery = faults.defects.contains(.ackWithoutDelivery)
        }
    }

    /// Closes every socket and joins the loops' threads. Idempotent. Called from a task on the
    /// data loop (`dataLoopExecutor`), it finishes on the global executor: a loop cannot join its
    /// own thread.
    public func stop() async {
        await withTaskExecutorPreference(globalConcurrentExecutor) { await self.stopOffTheLoops() }
    }

    private func stopOffTheLoops() async {
        let links = self.links
        let datagrams = self.datagrams
        let membership = self.membership
        try? await failureDetectorLoop.submit { membership.stop() }
        let groups = self.groups
        let stores = self.stores
        try? await dataLoop.submit {
            groups.stop()
            (try? stores.shells())?.replicated.stop()
        }
        try? await dataLoop.submit { links.stop() }
        try? await failureDetectorLoop.submit { datagrams.stop() }
        for loop in [dataLoop, failureDetectorLoop] {
            do { try loop.shutdown() } catch { logger.error("loop \(loop.name) did not close cleanly: \(error)") }
        }
        stores.close()
    }
}
