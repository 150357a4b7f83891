import ChorusCore
import ChorusGroups
import ChorusLoop
import ChorusMembership
import ChorusWire
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The groups core on the data loop: it feeds the core membership's news, the peers' groups
/// messages and a timer, carries out its directives over the node-to-node links, keeps the local
/// members' endpoints and delivers their messages, and runs the monitors.
///
/// Rules:
/// - a node is a peer while membership reports it alive or suspect; its messages reach the core
///   with the uid its link's hello gave, so a node can only speak for itself;
/// - a link to a peer that comes back after a link was lost makes the core ask for a sync
///   (frames in the lost link's buffers are gone);
/// - a message for a member of another node, or of an earlier run of this node, or for a member
///   that has ended, is dropped and counted.
final class GroupsShell: @unchecked Sendable {
    // Safety of @unchecked Sendable: all state is touched on `loop` only (the public API hops
    // there with `execute`/`submit`); the serial counter is the exception and is atomic.

    let loop: EventLoop
    private var core: GroupsInstance
    private let links: PeerLinks
    private let logger: Logger
    private let rejections: RejectionLog
    /// Joins and leaves seen (`figures`).
    private(set) var figures = GroupFigures()
    /// Plain broadcasts handed to a local member, and plain broadcasts to an empty group: counted
    /// on the broadcasters' threads (`ClusterNode.broadcast`).
    let localBroadcasts = Atomic<UInt64>(0)
    let unroutedBroadcasts = Atomic<UInt64>(0)
    private var monitors = GroupMonitors()
    private var endpoints: [UInt64: MemberEndpoint] = [:]
    /// Node-to-node address of each peer, from membership.
    private var addressOf: [NodeUID: String] = [:]
    /// Peers that had a link before: a new link to one of them is a reconnection.
    private var linked: Set<NodeUID> = []
    private var timer = DeadlineTimer()
    private var stopped = false
    private let serials = Atomic<UInt64>(0)
    /// What broadcasts read without coming to this loop; republished when emitter groups change.
    let directory: GroupDirectory
    /// Emitter groups and topics changed since the directory was last published: only their
    /// routes are rebuilt, once per loop iteration however many changes came in it.
    private var changedEmitterGroups: Set<String> = []
    private var changedTopics: Set<String> = []
    private var publishScheduled = false
    /// Routes of the last published directory, by group name.
    private var emitterRoutes: [String: EmitterTable.Route] = [:]
    private var topicRoutes: [String: GroupDirectory.TopicRoute] = [:]
    /// Changes begun with `beginChange` and applied whose directory is not published yet.
    private var changesAwaitingPublish = 0
    private(set) var broadcasts: EmitterBroadcasts!
    /// Plain broadcasts to remote members, waiting for the next drain.
    private let outbound = Inbox<OutboundEvent>()
    /// Taken from the inbox, not sent yet: their peer's link was full.
    private var held = Inbox<OutboundEvent>.Queue()
    /// Plain broadcasts queued and not yet handed to a link, for the broadcasters' flow control.
    let outboundBacklog = Atomic<Int>(0)
    /// A broadcaster waits while this many are queued (see `ClusterNode.broadcast`).
    static let maxOutboundBacklog = 65_536
    /// Per peer, the events of the drain under way, sent as one frame (`EmitterBatch`) per
    /// `batchBytes`; the arrays are kept between drains, for their capacity.
    private var batches: [PeerBatch] = []
    private var spareItems: [[EmitterBatch.Item]] = []
    /// Where a batch is encoded before it goes to its link.
    private var frameBuffer: [UInt8] = []
    /// A batch goes out once it reaches this size, so that one write stays moderate.
    private static let batchBytes = 64 << 10

    init(loop: EventLoop, node: NodeUID, settings: GroupsSettings, links: PeerLinks, logger: Logger) {
        self.loop = loop
        self.core = GroupsInstance(node: node, settings: settings, now: Self.now)
        self.links = links
        self.logger = logger
        self.rejections = RejectionLog(logger: logger)
        var seed = SystemRandomNumberGenerator()
        self.directory = GroupDirectory(seed: seed.next(), hashBasis: seed.next())
        self.broadcasts = EmitterBroadcasts(loop: loop, shell: self)
    }

    private static var now: ProtocolTime { DeadlineTimer.now }

    var node: NodeUID { core.node }

    // MARK: Inputs from the node

    func start() {
        loop.preconditionInLoop()
        rearm()
    }

    func membershipChanged(_ event: MembershipEvent) {
        loop.preconditionInLoop()
        guard !stopped else { return }
        let member = event.member
        if member.isActive { addressOf[member.id.uid] = member.address }
        perform(core.membershipChanged(event, now: Self.now))
        if !member.isActive {
            broadcasts.nodeDown(member.id.uid)
            addressOf.removeValue(forKey: member.id.uid)
            linked.remove(member.id.uid)
        }
    }

    func linkEstablished(_ peer: PeerInfo) {
        loop.preconditionInLoop()
        guard !stopped, addressOf[peer.uid] != nil else { return }
        if !linked.insert(peer.uid).inserted { perform(core.peerUp(peer.uid, now: Self.now)) }
    }

    func received(_ message: Message, from peer: PeerInfo) {
        loop.preconditionInLoop()
        guard !stopped else { return }
        switch message {
        case .memberMessage(let body):
            deliverRemote(body, from: peer)
            return
        case .emitterDelivery(let delivery):
            received(delivery, from: peer)
            return
        case .emitterBatch(let batch):
            received(batch, from: peer)
            return
        case .emitterAck(let ack):
            broadcasts.received(ack, from: peer.uid)
            return
        case .topicMessage(let published):
            let from = published.from.flatMap { $0.node == peer.uid ? $0 : nil }
            deliverLocally(published.topic, published.payload, from: from, fromNode: peer.uid, path: .remote)
            return
        default:
            break
        }
        if let groupsMessage = GroupsMessage(message) {
            // The core ignores a node membership does not report alive (yet, or any more).
            guard core.isPeer(peer.uid) else { return rejections.count(transport: "tcp", reason: "unknown_sender") }
            perform(core.receive(groupsMessage, from: peer.uid, now: Self.now))
        }
    }

    /// A broadcast event for one of our members.
    func received(_ delivery: EmitterDelivery, from peer: PeerInfo) {
        loop.preconditionInLoop()
        guard !stopped else { return }
        if let ack = broadcasts.received(delivery, from: peer.uid) {
            links.send(WireCodec.encode(.emitterAck(ack)), toNodeAt: peer.bindAddress)
        }
    }

    /// Plain broadcast events for our members; those for another node or an earlier run of this
    /// one, or for a member that has ended, are dropped (as a fire-and-forget event may be).
    func received(_ batch: EmitterBatch, from peer: PeerInfo) {
        guard !stopped else { return }
        for item in batch.items {
            _ = deliverEvent(item.event, to: GroupMemberID(node: batch.node, serial: item.serial), from: peer.uid, path: .remote)
        }
    }

    // MARK: Members

    /// A new local member with a mailbox, or with `handler` instead.
    func makeMember(handler: (@Sendable (GroupMessage) -> Void)?) -> GroupMember {
        let serial = serials.add(1, ordering: .relaxed).newValue
        let id = GroupMemberID(node: core.node, serial: serial)
        let (stream, continuation) = AsyncStream.makeStream(of: GroupMessage.self)
        let endpoint = MemberEndpoint(mailbox: handler == nil ? continuation : nil, handler: handler)
        if handler != nil { continuation.finish() }
        let life = MemberLife()
        // On the loop's thread the endpoint is in place at once; from elsewhere it is queued (and a
        // join that overtakes it registers it first: `applySubmittedJoin`). A member that ended in
        // the meantime is not registered.
        let register: @Sendable () -> Void = { [self] in
            if !stopped && !life.hasEnded { endpoints[serial] = endpoint } else { endpoint.finish() }
        }
        if loop.inLoop {
            register()
        } else if !loop.execute(register) {
            continuation.finish()
        }
        let end: @Sendable () -> Void = { [weak self] in
            life.end()
            guard let self else { return }
            self.loop.execute { self.terminate(serial) }
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination { end() }
        }
        return GroupMember(id: id, messages: stream, endpoint: endpoint, life: life, end: end)
    }

    private func terminate(_ serial: UInt64) {
        guard let endpoint = endpoints.removeValue(forKey: serial) else { return }
        endpoint.finish()
        perform(core.terminate(GroupMemberID(node: core.node, serial: serial)))
    }

    func join(scope: String, group: String, members: [GroupMemberID]) throws(GroupsError) {
        loop.preconditionInLoop()
        if let ended = members.first(where: { $0.node == core.node && endpoints[$0.serial] == nil }) { throw .memberEnded(ended) }
        perform(try core.join(scope: scope, group: group, members: members))
    }

    /// Joins live member objects from any thread without waiting for the loop: everything a
    /// join can refuse is checked here, on the caller's thread, and the join goes to the loop
    /// behind everything queued before it. So the loop's reads and leaves that follow see it,
    /// and so do broadcasts and publishes (see `beginChange`). A member that ends before the
    /// loop applies its join is left out, as if it had joined and ended. On the loop's own thread
    /// (a task that prefers the node's executor) the join is applied at once, and its delta
    /// leaves with it (`perform` sends deltas promptly).
    func submitJoin(scope: String, group: String, members: [GroupMember]) throws(GroupsError) {
        if directory.snapshot.stopped { throw .nodeStopped }
        try GroupsInstance.validate(scope: scope, group: group)
        if let stranger = members.first(where: { $0.id.node != node }) { throw .notLocal(stranger.id) }
        if let ended = members.first(where: \.hasEnded) { throw .memberEnded(ended.id) }
        beginChange()
        if loop.inLoop {
            applySubmittedJoin(scope: scope, group: group, members)
            return
        }
        let accepted = loop.execute { [self] in applySubmittedJoin(scope: scope, group: group, members) }
        if !accepted { throw .nodeStopped } // the stopped directory releases waiting broadcasts
    }

    /// Applies a submitted join of the members that have not ended. One made on another thread
    /// whose registration is still queued (a join on the loop can overtake it) is registered here.
    private func applySubmittedJoin(scope: String, group: String, _ members: [GroupMember]) {
        guard !stopped else { return settleChange() }
        var live: [GroupMemberID] = []
        for member in members where !member.hasEnded {
            if endpoints[member.id.serial] == nil { endpoints[member.id.serial] = member.endpoint }
            live.append(member.id)
        }
        if !live.isEmpty, let directives = try? core.join(scope: scope, group: group, members: live) {
            perform(directives)
        }
        settleChange()
    }

    /// Joins and leaves submitted and not yet shown by the directory.
    let pendingChanges = Atomic<Int>(0)

    /// Called off the loop before a join or leave is handed to it: broadcasts and publishes that
    /// start from now on wait until the directory shows the change (`settleChange`, on the loop,
    /// once it is applied), so that what a caller joined or left is what its next broadcast sees.
    func beginChange() {
        pendingChanges.wrappingAdd(1, ordering: .relaxed)
    }

    /// On the loop, once a change begun with `beginChange` is applied: it counts until the next
    /// directory publish if one is due, else at once.
    func settleChange() {
        if publishScheduled {
            changesAwaitingPublish += 1
        } else {
            pendingChanges.wrappingSubtract(1, ordering: .releasing)
        }
    }

    /// Returns once every join and leave begun before the call is in the directory (or the node
    /// has stopped). Called by broadcast and publish. On the loop, where a caller's own joins and
    /// leaves are already applied, it publishes the directory if a publish is due, and returns.
    @inline(__always)
    func awaitSubmittedChanges() {
        if pendingChanges.load(ordering: .acquiring) > 0 { waitForSubmittedChanges() }
    }

    private func waitForSubmittedChanges() {
        if loop.inLoop {
            if publishScheduled { publishDirectory() }
            return
        }
        while pendingChanges.load(ordering: .acquiring) > 0 {
            if directory.snapshot.stopped { return }
            sched_yield()
        }
    }

    func leave(scope: String, group: String, members: [GroupMemberID]) throws(GroupsError) {
        loop.preconditionInLoop()
        perform(try core.leave(scope: scope, group: group, members: members))
    }

    /// Sends `payload` to `member`: into its endpoint if it is local, else over the link to its node.
    /// Returns the path taken, or nil when the member is unknown (ended, or its node is not a peer).
    @discardableResult
    func send(_ payload: [UInt8], to member: GroupMemberID, from sender: GroupMemberID?) -> DeliveryPath? {
        loop.preconditionInLoop()
        if member.node == core.node {
            guard let endpoint = endpoints[member.serial] else { return nil }
            endpoint.deliver(GroupMessage(from: sender, fromNode: core.node, content: .bytes(payload), path: .local))
            return .local
        }
        guard let address = addressOf[member.node] else { return nil }
        links.send(WireCodec.encode(.memberMessage(MemberMessage(to: member, from: sender, payload: payload))), toNodeAt: address)
        return .remote
    }

    private func deliverRemote(_ message: MemberMessage, from peer: PeerInfo) {
        guard message.to.node == core.node, let endpoint = endpoints[message.to.serial] else {
            logger.debug("dropped a message from \(peer.name) for \(message.to): no such member here")
            return
        }
        // A sender member must be the sending node's own.
        let from = message.from.flatMap { $0.node == peer.uid ? $0 : nil }
        endpoint.deliver(GroupMessage(from: from, fromNode: peer.uid, content: .bytes(message.payload), path: .remote))
    }

    // MARK: Emitters

    /// The distinct members of an emitter group, as this loop knows them now.
    func distinctEmitters(_ group: String) -> [GroupMemberID] {
        core.distinctMembers(scope: EmitterNames.scope, group: group)
    }

    /// Hands an event to a local member; false when it is not a live member of this node.
    func deliverEvent(_ event: EmitterEvent, to member: GroupMemberID, from node: NodeUID, path: DeliveryPath) -> Bool {
        guard member.node == core.node, let endpoint = endpoints[member.serial] else { return false }
        endpoint.deliver(GroupMessage(from: nil, fromNode: node, content: .event(event), path: path))
        return true
    }

    /// Sends an event to a remote member's node; false when that node is not a peer.
    @discardableResult
    func sendEvent(_ event: EmitterEvent, group: String, to member: GroupMemberID, ackID: UInt64) -> Bool {
        guard let address = addressOf[member.node] else { return false }
        links.send(WireCodec.encode(.emitterDelivery(EmitterDelivery(to: member, group: group, ackID: ackID, event: event))),
                   toNodeAt: address)
        return true
    }

    // MARK: Topics

    /// Hands a published message to this node's subscribers of `topic`, each once.
    func deliverLocally(_ topic: String, _ payload: [UInt8], from: GroupMemberID?, fromNode: NodeUID, path: DeliveryPath) {
        for member in core.distinctMembers(scope: TopicNames.scope, group: topic) where member.node == core.node {
            endpoints[member.serial]?.deliver(GroupMessage(from: from, fromNode: fromNode, content: .published(topic: topic, payload: payload), path: path))
        }
    }

    /// Sends one copy of a published message to each of these nodes.
    func sendPublished(_ message: TopicMessage, to nodes: [NodeUID]) {
        guard !nodes.isEmpty else { return }
        let frame = WireCodec.encode(.topicMessage(message))
        for node in nodes {
            if let address = addressOf[node] { links.send(frame, toNodeAt: address) }
        }
    }

    /// Queues a plain broadcast to a remote member from any thread; the loop sends it with the
    /// others of its batch. False once the node has stopped.
    func enqueue(_ item: OutboundEvent) -> Bool {
        outboundBacklog.wrappingAdd(1, ordering: .relaxed)
        guard outbound.push(item) else { return true }
        return loop.execute { [self] in drainOutbound() }
    }

    /// Encodes queued broadcasts into one buffer per peer and sends each buffer as one write,
    /// in order, until a peer's link is full: the rest waits for that link to drain
    /// (`PeerLinks.onWritable`), so a burst never piles up in the links' overflow.
    func drainOutbound() {
        guard !stopped else { return }
        outbound.takeAll(into: &held)
        var sent = 0
        drain: while let member = held.peek({ $0.member }) {
            let node = member.node
            var slot = batches.firstIndex { $0.node == node } ?? -1
            if slot < 0 {
                guard let address = addressOf[node] else {
                    _ = held.popFirst() // its node is gone: the event is lost, as a fire-and-forget one may be
                    sent += 1
                    continue
                }
                guard links.isWritable(toNodeAt: address) else { break }
                batches.append(PeerBatch(node: node, address: address, items: spareItems.popLast() ?? []))
                slot = batches.count - 1
            }
            let batchItem = EmitterBatch.Item(serial: member.serial, event: held.popFirst()!.event)
            broadcasts.figures.remoteEvents += 1
            let size = batchItem.encodedSize
            // A large event must not take its batch past a frame (alone, it fits: `checkLimits`).
            if batches[slot].size + size > WireLimits.maxFramePayload - 1024 { flush(&batches[slot]) }
            batches[slot].items.append(batchItem)
            batches[slot].size += size
            sent += 1
            if batches[slot].size >= Self.batchBytes {
                flush(&batches[slot])
                if !links.isWritable(toNodeAt: batches[slot].address) { break drain }
            }
        }
        for index in batches.indices {
            flush(&batches[index])
            spareItems.append(batches[index].items)
        }
        batches.removeAll(keepingCapacity: true)
        outboundBacklog.wrappingSubtract(sent, ordering: .relaxed)
    }

    /// Sends a peer's gathered events as one frame, and empties the batch for more.
    private func flush(_ batch: inout PeerBatch) {
        guard !batch.items.isEmpty else { return }
        WireCodec.encode(EmitterBatch(node: batch.node, items: batch.items), as: .emitterBatch, into: &frameBuffer)
        links.send(frameBuffer, toNodeAt: batch.address)
        frameBuffer.removeAll(keepingCapacity: true)
        batch.items.removeAll(keepingCapacity: true)
        batch.size = 0
    }

    /// The events for one peer in one drain, and their encoded size.
    private struct PeerBatch {
        let node: NodeUID
        let address: String
        var items: [EmitterBatch.Item]
        var size = 0
    }

    /// One plain broadcast for one remote member.
    struct OutboundEvent: Sendable {
        let member: GroupMemberID
        let event: EmitterEvent
    }

    /// Publishes the emitter groups, the topics and their local endpoints for lock-free reads,
    /// rebuilding the routes of the groups that changed; then lets broadcasts waiting for the
    /// joins it shows go on.
    private func publishDirectory() {
        publishScheduled = false
        guard !stopped else { return }
        for group in changedEmitterGroups {
            guard let key = EmitterNames.key(ofGroup: group) else { continue } // joined by name, not by broadcast's rules
            let members = core.distinctMembers(scope: EmitterNames.scope, group: group)
            if members.isEmpty {
                emitterRoutes.removeValue(forKey: group)
            } else {
                emitterRoutes[group] = EmitterTable.Route(store: key.store, subscription: key.subscription, members: members,
                                                          endpoints: members.map { $0.node == core.node ? endpoints[$0.serial] : nil })
            }
        }
        for topic in changedTopics {
            var route = GroupDirectory.TopicRoute()
            var nodes: Set<NodeUID> = []
            for member in core.distinctMembers(scope: TopicNames.scope, group: topic) {
                if member.node != core.node {
                    nodes.insert(member.node)
                } else if let endpoint = endpoints[member.serial] {
                    route.local.append((member, endpoint))
                }
            }
            route.remoteNodes = nodes.sorted()
            if route.local.isEmpty && route.remoteNodes.isEmpty {
                topicRoutes.removeValue(forKey: topic)
            } else {
                topicRoutes[topic] = route
            }
        }
        changedEmitterGroups.removeAll()
        changedTopics.removeAll()
        directory.publish(GroupDirectory.Snapshot(emitters: EmitterTable(Array(emitterRoutes.values), basis: directory.hashBasis),
                                                  topics: topicRoutes))
        pendingChanges.wrappingSubtract(changesAwaitingPublish, ordering: .releasing)
        changesAwaitingPublish = 0
    }

    // MARK: Reading

    /// The broadcasts' figures: the loop's counts and the broadcasters' threads'.
    var broadcastFigures: BroadcastFigures {
        loop.preconditionInLoop()
        var figures = broadcasts.figures
        figures.localEvents += localBroadcasts.load(ordering: .relaxed)
        figures.noEmitters += unroutedBroadcasts.load(ordering: .relaxed)
        return figures
    }

    func members(scope: String, group: String) -> [GroupMemberID] { core.members(scope: scope, group: group) }
    func groupView(scope: String, group: String) -> GroupView {
        GroupView(members: core.members(scope: scope, group: group), localMembers: core.localMembers(scope: scope, group: group))
    }
    func scopeView(scope: String) -> ScopeView {
        ScopeView(groups: core.whichGroups(scope: scope), localGroups: core.whichLocalGroups(scope: scope))
    }
    func localMembers(scope: String, group: String) -> [GroupMemberID] { core.localMembers(scope: scope, group: group) }
    func whichGroups(scope: String) -> [String] { core.whichGroups(scope: scope) }
    func whichLocalGroups(scope: String) -> [String] { core.whichLocalGroups(scope: scope) }

    // MARK: Monitors

    /// Starts a monitor of `scope` (or of one group of it) and returns, atomically with it, the
    /// current members of what it watches: group -> members.
    func monitor(scope: String, group: String?) -> (current: [String: [GroupMemberID]], stream: AsyncStream<GroupNotification>) {
        loop.preconditionInLoop()
        let (stream, continuation) = AsyncStream.makeStream(of: GroupNotification.self)
        guard let (id, current) = addMonitor(scope: scope, group: group, .stream(continuation)) else {
            continuation.finish()
            return ([:], stream)
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.loop.execute { self.monitors.remove(id, scope: scope, group: group) }
        }
        return (current, stream)
    }

    /// Starts a monitor whose notifications go to `handler`, on this loop; returns the current
    /// members (as `monitor`) and the monitor, which stops when cancelled or released.
    func monitor(scope: String, group: String?, handler: @escaping @Sendable (GroupNotification) -> Void)
        -> (current: [String: [GroupMemberID]], monitor: GroupMonitor) {
        loop.preconditionInLoop()
        guard let (id, current) = addMonitor(scope: scope, group: group, .handler(handler)) else {
            return ([:], GroupMonitor {})
        }
        let monitor = GroupMonitor { [weak self] in
            guard let self else { return }
            self.loop.execute { self.monitors.remove(id, scope: scope, group: group) }
        }
        return (current, monitor)
    }

    private func addMonitor(scope: String, group: String?, _ watcher: GroupMonitors.Watcher) -> (Int, [String: [GroupMemberID]])? {
        guard !stopped else { return nil }
        let id = monitors.add(scope: scope, group: group, watcher)
        var current: [String: [GroupMemberID]] = [:]
        for name in group.map({ [$0] }) ?? core.whichGroups(scope: scope) {
            let members = core.members(scope: scope, group: name)
            if !members.isEmpty { current[name] = members }
        }
        return (id, current)
    }

    // MARK: Directives and timer

    private func perform(_ directives: [GroupsDirective]) {
        for directive in directives {
            switch directive {
            case let .send(message, peers):
                // Deltas and syncs leave idle links at once: a join is seen as soon as it can be.
                let frame = WireCodec.encode(message.wire)
                for peer in peers {
                    if let address = addressOf[peer] { links.send(frame, toNodeAt: address, prompt: true) }
                }
            case .notify(let notification):
                figures.count(notification, localNode: core.node)
                if notification.scope == EmitterNames.scope {
                    changedEmitterGroups.insert(notification.group)
                } else if notification.scope == TopicNames.scope {
                    changedTopics.insert(notification.group)
                }
                monitors.notify(notification)
            }
        }
        if !publishScheduled && !(changedEmitterGroups.isEmpty && changedTopics.isEmpty) {
            publishScheduled = true
            loop.execute { [self] in if publishScheduled { publishDirectory() } }
        }
        rearm()
    }

    private func rearm() {
        guard !stopped else { return }
        timer.arm(for: core.nextDeadline, on: loop) { [unowned self] in
            self.timer.fired()
            guard !self.stopped else { return }
            self.perform(self.core.tick(now: Self.now))
        }
    }

    /// Ends every member's mailbox and every monitor, and stops the timer.
    func stop() {
        loop.preconditionInLoop()
        stopped = true
        timer.cancel()
        broadcasts.stop()
        for endpoint in endpoints.values { endpoint.finish() }
        endpoints = [:]
        directory.publish(GroupDirectory.Snapshot(stopped: true))
        pendingChanges.wrappingSubtract(changesAwaitingPublish, ordering: .releasing)
        changesAwaitingPublish = 0
        monitors.finishAll()
    }
}
