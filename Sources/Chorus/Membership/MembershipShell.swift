import ChorusCore
import ChorusLoop
import ChorusMembership
import ChorusWire
import Logging

/// The I/O shell of the membership protocol, on the failure-detector loop: it owns the pure
/// `SWIMInstance`, turns datagrams, stream messages, API calls and its timer into inputs, and
/// carries out the directives.
///
/// Rules:
/// - time is the monotonic clock (`uv_hrtime`) in nanoseconds;
/// - one timer is armed at the core's `nextDeadline` after every input, and moved when it moves;
/// - `.send(reliable: false)` is one datagram; `.send(reliable: true)` (the TCP fallback ping and
///   its ack) and `.sync` go over TCP through `PeerLinks` on the data loop;
/// - a stream message that cannot be delivered is reported to the core; a refused connection is
///   evidence that the process is gone;
/// - the addresses of the active members are handed to `PeerLinks`, which keeps a link to each and
///   redials at once when one closes, so a crash is noticed in about a round trip;
/// - join is retried every second until another member is known (seeds may start later);
/// - injected faults (`InjectedFaults`) drop, lose and delay membership traffic here; `PeerLinks`
///   drops the named peers' link frames.
final class MembershipShell: @unchecked Sendable {
    // Safety of @unchecked Sendable: created off-loop, then used only on `loop` (each entry point
    // checks it); other threads reach it through `loop.execute`/`submit`. `events` is Sendable.

    let loop: EventLoop
    let events = MembershipEventHub()
    /// Called on this loop with every event, in order (the groups shell's feed). Set before `start`.
    var onEvent: ((MembershipEvent) -> Void)?
    private var swim: SWIMInstance
    private let datagrams: DatagramEndpoint
    private let links: PeerLinks
    private let seeds: [String]
    private let logger: Logger
    private let rejections: RejectionLog
    /// The events counted here; the rest of the figures is read from the core (`figures`).
    private var tally = MembershipFigures()
    private var timer = DeadlineTimer()
    private var joinTimer: LoopTimer?
    private var quietTimer: LoopTimer?
    private var leaveDone: (() -> Void)?
    private var faults = InjectedFaults.none
    private var faultRandom = ProtocolRandom.fromSystem()
    private var wanted: Set<String> = []
    private var resolved: [String: SocketAddress] = [:]
    /// Messages held back by an injected delay.
    private var delayed: [ObjectIdentifier: LoopTimer] = [:]
    /// Set after a leave has been gossiped, or on stop: inputs are ignored, no timer runs.
    private var quiet = false
    private let joinRetryMillis: UInt64 = 1000

    init(loop: EventLoop, me: MemberID, settings: NodeSettings, datagrams: DatagramEndpoint, links: PeerLinks,
         logger: Logger) {
        self.loop = loop
        self.datagrams = datagrams
        self.links = links
        self.logger = logger
        self.rejections = RejectionLog(logger: logger)
        self.seeds = settings.seeds.filter { $0 != settings.bind }.map { "\($0)" }
        swim = SWIMInstance(me: me, address: "\(settings.bind)", settings: settings.swim,
                            random: .fromSystem(), now: Self.now)
    }

    private static var now: ProtocolTime { DeadlineTimer.now }

    // MARK: Inputs

    /// Joins the seeds, and keeps trying every second until another member is known.
    func start() {
        loop.preconditionInLoop()
        guard !seeds.isEmpty else {
            rearm()
            return
        }
        perform(swim.join(seeds: seeds, now: Self.now))
        joinTimer = loop.scheduleTimer(afterMillis: joinRetryMillis, repeatMillis: joinRetryMillis) { [unowned self] timer in
            guard !self.quiet, self.swim.members.isEmpty else {
                timer.cancel()
                self.joinTimer = nil
                return
            }
            self.logger.debug("no member known yet: joining \(self.seeds.joined(separator: ", ")) again")
            self.perform(self.swim.join(seeds: self.seeds, now: Self.now))
        }
    }

    /// A membership datagram from `sender`.
    func received(_ packet: MembershipPacket, from sender: SocketAddress) {
        loop.preconditionInLoop()
        guard !quiet else { return }
        guard !faults.dropsInbound(from: packet.sender.name) else { return rejections.count(transport: "udp", reason: "fault_injected") }
        perform(swim.receive(packet, from: "\(sender)", overStream: false, now: Self.now))
    }

    /// A membership message that came over a TCP link from the node at `address`.
    func received(_ message: Message, overStreamFrom address: String) {
        loop.preconditionInLoop()
        guard !quiet else { return }
        switch message {
        case .membership(let packet):
            guard !faults.dropsInbound(from: packet.sender.name) else { return rejections.count(transport: "tcp", reason: "fault_injected") }
            perform(swim.receive(packet, from: address, overStream: true, now: Self.now))
        case .membershipSync(let sync):
            guard !faults.dropsInbound(from: sync.sender.name) else { return rejections.count(transport: "tcp", reason: "fault_injected") }
            perform(swim.receive(sync, from: address, now: Self.now))
        default:
            rejections.reject(transport: "tcp", reason: "unexpected_type", nowMillis: loop.nowMillis,
                              "dropped a \(message.type) from \(address): not a membership message")
        }
    }

    /// A stream message to `address` found no listener (`refused`) or could not get through.
    func undeliverable(to address: String, refused: Bool) {
        loop.preconditionInLoop()
        guard !quiet else { return }
        if refused { tally.undeliverableRefused += 1 } else { tally.undeliverableUnreachable += 1 }
        if refused, let member = swim.members.values.first(where: { $0.address == address && $0.isActive }) {
            logger.info("\(member.id.name) at \(address) refuses connections: its process is gone")
        }
        perform(swim.undeliverable(to: address, refused: refused, now: Self.now))
    }

    /// Joins through more addresses (the API's join).
    func join(_ addresses: [String]) {
        loop.preconditionInLoop()
        guard !quiet else { return }
        perform(swim.join(seeds: addresses, now: Self.now))
    }

    /// Announces that this node leaves, gossips it for `gossipRounds` gossip intervals, then goes
    /// quiet and calls `done`.
    func leave(gossipRounds: Int = 4, done: @escaping () -> Void) {
        loop.preconditionInLoop()
        guard !quiet, !swim.hasLeft else {
            done()
            return
        }
        logger.info("leaving the cluster")
        perform(swim.leave(now: Self.now))
        let millis = UInt64(max(1, swim.settings.gossipInterval.nanoseconds / 1_000_000)) * UInt64(gossipRounds)
        leaveDone = done
        quietTimer = loop.scheduleTimer(afterMillis: millis) { [unowned self] _ in
            self.quietTimer = nil
            self.goQuiet()
            self.logger.info("left the cluster")
            self.leaveDone?()
            self.leaveDone = nil
        }
    }

    /// Sets this node's metadata and announces it.
    func updateMeta(_ meta: [UInt8]) {
        loop.preconditionInLoop()
        guard !quiet else { return }
        perform(swim.updateMeta(meta, now: Self.now))
    }

    /// Replaces the injected faults (`.none` clears them).
    func setFaults(_ faults: InjectedFaults) {
        loop.preconditionInLoop()
        self.faults = faults
    }

    /// Every member this node knows, itself included, sorted by name.
    var members: [Member] {
        loop.preconditionInLoop()
        return ([swim.selfMember] + swim.members.values).sorted { $0.id.name < $1.id.name }
    }

    /// The protocol's figures: the events counted here, the members by status and the core's counts.
    var figures: MembershipFigures {
        loop.preconditionInLoop()
        var figures = tally
        for status in MemberStatus.allCases { figures.members[status] = 0 }
        figures.members[swim.selfMember.state.status]! += 1
        for member in swim.members.values { figures.members[member.state.status]! += 1 }
        figures.counters = swim.counters
        figures.localHealth = swim.localHealth.score
        return figures
    }

    /// The member called `name` (this node included), if this node knows it.
    func member(named name: String) -> Member? {
        loop.preconditionInLoop()
        return name == swim.me.name ? swim.selfMember : swim.members[name]
    }

    /// Cancels the timers and ends the event streams. Idempotent.
    func stop() {
        loop.preconditionInLoop()
        goQuiet()
        quietTimer?.cancel()
        quietTimer = nil
        leaveDone?()
        leaveDone = nil
        events.finish()
    }

    private func goQuiet() {
        quiet = true
        timer.cancel()
        joinTimer?.cancel()
        joinTimer = nil
        for held in delayed.values { held.cancel() }
        delayed = [:]
        wanted = []
        let links = self.links
        links.loop.execute { links.setWanted([]) }
    }

    // MARK: Directives

    private func perform(_ directives: [SWIMDirective]) {
        var changed = false
        for directive in directives {
            switch directive {
            case let .send(packet, to: address, reliable: reliable):
                transmit(WireCodec.encode(.membership(packet)), to: address, overStream: reliable)
            case let .sync(sync, to: address):
                transmit(WireCodec.encode(.membershipSync(sync)), to: address, overStream: true)
            case let .event(event):
                report(event)
                changed = true
            }
        }
        // Once per input, however many members it changed (a sync can change hundreds).
        if changed { membershipChanged() }
        rearm()
    }

    private func transmit(_ frame: [UInt8], to address: String, overStream: Bool) {
        var delay: UInt64 = 0
        if !faults.isNone {
            let peer = swim.members.values.first { $0.address == address }?.id.name
            switch faults.outbound(to: peer, random: &faultRandom) {
            case .drop: return rejections.count(transport: overStream ? "tcp" : "udp", reason: "fault_injected")
            case .deliver(let millis): delay = millis
            }
        }
        guard delay > 0 else {
            deliver(frame, to: address, overStream: overStream)
            return
        }
        let timer = loop.scheduleTimer(afterMillis: delay) { [weak self] timer in
            guard let self else { return }
            self.delayed.removeValue(forKey: ObjectIdentifier(timer))
            guard !self.quiet else { return }
            self.deliver(frame, to: address, overStream: overStream)
        }
        delayed[ObjectIdentifier(timer)] = timer
    }

    private func deliver(_ frame: [UInt8], to address: String, overStream: Bool) {
        if overStream {
            let links = self.links
            links.loop.execute { links.send(frame, toNodeAt: address) }
            return
        }
        guard let target = socketAddress(address) else { return }
        datagrams.send(frame, to: target)
    }

    private func socketAddress(_ address: String) -> SocketAddress? {
        if let known = resolved[address] { return known }
        guard let parsed = try? SocketAddress(address) else {
            rejections.reject(transport: "udp", reason: "bad_address", nowMillis: loop.nowMillis,
                              "cannot send to \"\(address)\": not a numeric host:port")
            return nil
        }
        if resolved.count > 4096 { resolved.removeAll() }
        resolved[address] = parsed
        return parsed
    }

    private func report(_ event: MembershipEvent) {
        let member = event.member
        switch event {
        case .joined: logger.info("member \(member.id.name) (\(member.id.uid)) joined at \(member.address)")
        case .alive: logger.info("member \(member.id.name) (\(member.id.uid)) is alive again (\(member.state))")
        case .suspect:
            tally.suspicions += 1
            logger.info("member \(member.id.name) (\(member.id.uid)) is suspect (\(member.state))")
        case .dead:
            tally.deaths += 1
            logger.info("member \(member.id.name) (\(member.id.uid)) is dead (\(member.state))")
        case .left: logger.info("member \(member.id.name) (\(member.id.uid)) left")
        case .updated: logger.info("member \(member.id.name) (\(member.id.uid)) updated (\(member.state))")
        }
        events.publish(event)
        onEvent?(event)
    }

    /// Updates the links `PeerLinks` keeps to the current members.
    private func membershipChanged() {
        let active = Set(swim.members.values.filter(\.isActive).map(\.address))
        if active != wanted && !quiet {
            wanted = active
            let links = self.links
            links.loop.execute { links.setWanted(active) }
        }
    }

    // MARK: Timer

    /// Arms the timer for the core's next deadline, unless it is armed for it already.
    private func rearm() {
        guard !quiet else { return }
        timer.arm(for: swim.nextDeadline, on: loop) { [unowned self] in
            self.timer.fired()
            guard !self.quiet else { return }
            self.perform(self.swim.tick(now: Self.now))
        }
    }
}
