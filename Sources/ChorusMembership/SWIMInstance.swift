import ChorusCore
import ChorusWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The membership protocol of one node: SWIM with Lifeguard, as a pure state machine.
///
/// It does no I/O, reads no clock and draws no randomness of its own. The shell (or the
/// simulator) calls `receive`, `tick`, `join`, `leave` and `undeliverable` with the current time
/// and carries out the returned directives. It then calls `tick` again at `nextDeadline`. The same
/// inputs give the same directives, which is what makes simulation runs replayable.
public struct SWIMInstance: Sendable {
    /// This node.
    public let me: MemberID
    public let address: String
    public let settings: SWIMSettings
    public private(set) var incarnation: Incarnation = .zero
    public private(set) var meta: [UInt8]
    /// Every other member this node knows, by name (dead and left ones until their tombstone
    /// expires after `reconnectTimeout`).
    public var members: [String: Member] { table.byName }
    var table = MemberTable()
    public private(set) var localHealth: LocalHealth
    /// Whether `leave` was called.
    public private(set) var hasLeft = false
    /// What this member did since it started, for metrics.
    public private(set) var counters = Counters()

    /// Counts of protocol steps, for metrics (the shell reads them; the protocol never does).
    public struct Counters: Sendable, Equatable {
        /// Probe rounds started: a direct ping to the next member of the round robin.
        public var probes: UInt64 = 0
        /// Probe rounds whose direct ping went unanswered, so helpers were asked (and the TCP
        /// fallback tried).
        public var indirectProbes: UInt64 = 0
        /// Probe rounds that ended with no ack by any path: the target is accused.
        public var failedProbes: UInt64 = 0
        /// Suspicions, deaths or goodbyes of this member, heard from others, that it refuted with
        /// a higher incarnation.
        public var refutations: UInt64 = 0

        public init() {}
    }

    var random: ProtocolRandom
    var suspicions: [String: Suspicion] = [:]
    var broadcasts = BroadcastQueue<MemberGossip>()
    var probeOrder: [String] = []
    var probeIndex = 0
    var sequence: UInt32 = 0
    var probe: ProbeRound?
    var relays: [UInt32: Relay] = [:]
    var nextProbeAt: ProtocolTime
    var nextGossipAt: ProtocolTime
    var nextPushPullAt: ProtocolTime
    var nextReconnectAt: ProtocolTime
    var outbox: [SWIMDirective] = []
    /// Newer news to send back to the sender of the packet being handled, which told us
    /// something stale (see `correctStaleNews`).
    var corrections: [MemberGossip] = []
    /// Piggyback sends per item for the current cluster size; refreshed after every input.
    var retransmitLimit: Int

    public init(me: MemberID, address: String, settings: SWIMSettings, meta: [UInt8] = [],
                random: ProtocolRandom, now: ProtocolTime) {
        self.me = me
        self.address = address
        self.settings = settings
        self.meta = meta
        self.random = random
        self.localHealth = LocalHealth(maxMultiplier: settings.lifeguard ? settings.awarenessMaxMultiplier : 1)
        self.retransmitLimit = BroadcastQueue<MemberGossip>.retransmitLimit(clusterSize: 1, multiplier: settings.retransmitMultiplier)
        // Start the periodic work at random offsets so that nodes started together do not probe
        // and gossip in lockstep.
        var jitter = random
        nextProbeAt = now + Self.fraction(of: settings.probeInterval, &jitter)
        nextGossipAt = now + Self.fraction(of: settings.gossipInterval, &jitter)
        nextPushPullAt = now + settings.pushPullInterval + Self.fraction(of: settings.pushPullInterval, &jitter)
        nextReconnectAt = now + settings.reconnectInterval
        self.random = jitter
    }

    static func fraction(of duration: Duration, _ random: inout ProtocolRandom) -> Duration {
        duration.scaled(by: random.nextUnit())
    }

    // MARK: Reading

    /// This node's own entry.
    public var selfMember: Member {
        Member(id: me, address: address, state: MemberState(hasLeft ? .left : .alive, incarnation), meta: meta, since: .zero)
    }

    /// Members that are alive or suspect, this node included.
    public var activeCount: Int { table.activeCount + (hasLeft ? 0 : 1) }

    /// The earliest time `tick` has work to do.
    public var nextDeadline: ProtocolTime {
        var deadline = min(nextPushPullAt, nextReconnectAt)
        // A gossip round with nothing to tell is skipped, so an idle member does not wake for it.
        if !broadcasts.isEmpty { deadline = min(deadline, nextGossipAt) }
        if !hasLeft { deadline = min(deadline, nextProbeAt) }
        if let probe {
            deadline = min(deadline, probe.indirectSent || probe.acked ? probe.roundDeadline : probe.directDeadline)
        }
        for suspicion in suspicions.values { deadline = min(deadline, suspicion.deadline) }
        for relay in relays.values { deadline = min(deadline, relay.nacked ? relay.expiresAt : relay.nackAt) }
        return deadline
    }

    // MARK: Inputs

    /// Joins through `seeds` (addresses): a push-pull sync with each, and this node's own alive
    /// news queued for gossip, so that it spreads its existence itself from its first gossip round
    /// instead of waiting for the seeds' gossip to reach everyone (memberlist does the same).
    ///
    /// A follow-up sync with a random member comes two probe intervals later: members that join
    /// together learn of each other mostly by gossip, and gossip sent while a sender still
    /// believes the cluster small is retransmitted too few times to reach everyone. The follow-up
    /// closes that gap in seconds instead of a full push-pull period.
    public mutating func join(seeds: [String], now: ProtocolTime) -> [SWIMDirective] {
        for seed in seeds where seed != address {
            outbox.append(.sync(fullState(isReply: false, isJoin: true), to: seed))
        }
        broadcast(selfMember.gossip(includingMeta: true))
        nextPushPullAt = min(nextPushPullAt, now + settings.probeInterval * 2)
        return drain()
    }

    /// Leaves gracefully: announces `left` at the current incarnation to several members and stops
    /// probing. The shell keeps ticking for a few gossip rounds so that the news spreads.
    public mutating func leave(now: ProtocolTime) -> [SWIMDirective] {
        guard !hasLeft else { return [] }
        hasLeft = true
        probe = nil
        let goodbye = selfMember.gossip(includingMeta: false)
        broadcasts.enqueue(goodbye, subject: me.name, size: goodbye.encodedSize)
        for target in gossipTargets(count: settings.gossipNodes * 2, now: now) {
            sendGossip(to: target.address)
        }
        return drain()
    }

    /// Changes this node's metadata and announces it with a new incarnation.
    public mutating func updateMeta(_ newMeta: [UInt8], now: ProtocolTime) -> [SWIMDirective] {
        meta = newMeta
        incarnation = incarnation.next
        announceSelf()
        return drain()
    }

    /// A membership packet arrived from `source`: a datagram, or (`overStream`) a TCP fallback ping,
    /// whose ack goes back over the stream too.
    public mutating func receive(_ packet: MembershipPacket, from source: String, overStream: Bool = false,
                                 now: ProtocolTime) -> [SWIMDirective] {
        guard packet.sender != me else { return [] }
        for item in packet.gossip { apply(item, now: now) }
        let corrections = takeCorrections()
        var corrected = corrections.isEmpty
        switch packet.probe {
        case let .ping(sequence, target):
            // Only the exact identity answers: a restarted node does not ack for its previous run.
            if target == me && !hasLeft {
                send(.ack(sequence: sequence), to: overStream ? packet.senderAddress : source, reliable: overStream,
                     leading: corrections)
                corrected = true
            }
        case let .pingRequest(sequence, target, targetAddress):
            let relayed = nextSequence()
            relays[relayed] = Relay(requester: source, requesterSequence: sequence,
                                    nackAt: now + settings.probeTimeout.scaled(by: 0.8),
                                    expiresAt: now + settings.probeInterval)
            send(.ping(sequence: relayed, target: target), to: targetAddress)
        case let .ack(sequence):
            if var round = probe, round.sequence == sequence {
                if !round.acked {
                    round.acked = true
                    probe = round
                    localHealth.probeSucceeded()
                }
            } else if let relay = relays.removeValue(forKey: sequence) {
                send(.ack(sequence: relay.requesterSequence), to: relay.requester)
            }
        case let .nack(sequence):
            if var round = probe, round.sequence == sequence {
                round.nacksReceived += 1
                probe = round
            }
        case .none:
            break
        }
        if !corrected { send(.none, to: packet.senderAddress, leading: corrections) }
        return drain()
    }

    /// A push-pull sync arrived: merge it, and answer a request with our own state.
    ///
    /// Merge rule (memberlist's mergeState): a member the peer believes dead is only suspected
    /// here, so that one node's stale view cannot kill a member we can still reach.
    public mutating func receive(_ sync: MembershipSync, from source: String, now: ProtocolTime) -> [SWIMDirective] {
        guard sync.sender != me else { return [] }
        for var item in sync.members {
            if item.state.status == .dead {
                item.state.status = .suspect
                item.accuser = sync.sender.name
            }
            apply(item, now: now)
        }
        let corrections = takeCorrections()
        if !sync.isReply {
            outbox.append(.sync(fullState(isReply: true, isJoin: false), to: sync.senderAddress))
        } else if !corrections.isEmpty {
            send(.none, to: sync.senderAddress, leading: corrections)
        }
        return drain()
    }

    /// A stream message to `peer` could not be delivered. `refused` means nothing listens there
    /// any more: the process is gone (the evidence Erlang's distribution acts on), so a member at
    /// that address is declared dead at once. A timeout proves nothing and changes nothing.
    public mutating func undeliverable(to peer: String, refused: Bool, now: ProtocolTime) -> [SWIMDirective] {
        guard refused else { return [] }
        for member in table.sorted where member.address == peer && member.isActive {
            declareDead(member.id.name, now: now)
        }
        return drain()
    }

    /// Does whatever is due at `now`: relays' nacks, probe steps, suspicion timeouts, gossip,
    /// push-pull, reconnection and tombstone expiry.
    public mutating func tick(now: ProtocolTime) -> [SWIMDirective] {
        tickRelays(now: now)
        tickProbe(now: now)
        tickSuspicions(now: now)
        if now >= nextGossipAt && !broadcasts.isEmpty {
            nextGossipAt = now + settings.gossipInterval
            for target in gossipTargets(count: settings.gossipNodes, now: now) { sendGossip(to: target.address) }
        }
        if now >= nextPushPullAt {
            nextPushPullAt = now + pushPullInterval
            if let target = table.randomElement(using: &random, where: { $0.state.status == .alive }) {
                outbox.append(.sync(fullState(isReply: false, isJoin: false), to: target.address))
            }
        }
        if now >= nextReconnectAt {
            nextReconnectAt = now + settings.reconnectInterval
            tickReconnect(now: now)
        }
        return drain()
    }

    // MARK: Probing

    private mutating func tickProbe(now: ProtocolTime) {
        guard !hasLeft else { return }
        if var round = probe {
            if !round.acked && !round.indirectSent && now >= round.directDeadline {
                round.indirectSent = true
                counters.indirectProbes += 1
                let helpers = table.sample(settings.indirectChecks, using: &random) {
                    $0.state.status == .alive && $0.id != round.target
                }
                round.nacksExpected = helpers.count
                probe = round
                for helper in helpers {
                    send(.pingRequest(sequence: round.sequence, target: round.target, targetAddress: round.targetAddress),
                         to: helper.address)
                }
                // The TCP fallback: a datagram path may be lossy where a stream is not.
                if settings.tcpFallback {
                    send(.ping(sequence: round.sequence, target: round.target), to: round.targetAddress, reliable: true)
                }
            }
            if now >= round.roundDeadline {
                probe = nil
                if !round.acked {
                    counters.failedProbes += 1
                    if settings.lifeguard {
                        localHealth.probeFailed()
                        localHealth.nacksMissing(round.nacksExpected - round.nacksReceived)
                    }
                    accuse(round.target, now: now)
                }
            }
        }
        if probe == nil && now >= nextProbeAt {
            nextProbeAt = now + localHealth.scale(settings.probeInterval)
            startProbe(now: now)
        }
    }

    private mutating func startProbe(now: ProtocolTime) {
        guard let target = nextProbeTarget() else { return }
        let sequence = nextSequence()
        counters.probes += 1
        probe = ProbeRound(sequence: sequence, target: target.id, targetAddress: target.address,
                           directDeadline: now + localHealth.scale(settings.probeTimeout),
                           roundDeadline: now + localHealth.scale(settings.probeInterval))
        // Buddy system (Lifeguard §4.3): a suspect learns of its suspicion from its prober first.
        var first: [MemberGossip] = []
        if settings.lifeguard && target.state.status == .suspect {
            first.append(target.gossip(includingMeta: false, accuser: me.name))
        }
        send(.ping(sequence: sequence, target: target.id), to: target.address, leading: first)
    }

    /// Round-robin over a shuffled list of active members; reshuffled at the end of each pass,
    /// which bounds the time to probe any one member to two passes (SWIM §4.3).
    private mutating func nextProbeTarget() -> Member? {
        for _ in 0..<2 {
            while probeIndex < probeOrder.count {
                let name = probeOrder[probeIndex]
                probeIndex += 1
                if let member = table[name], member.isActive { return member }
            }
            probeOrder = table.names.filter { table[$0]!.isActive }.shuffled(using: &random)
            probeIndex = 0
            if probeOrder.isEmpty { return nil }
        }
        return nil
    }

    private mutating func tickRelays(now: ProtocolTime) {
        for sequence in relays.keys.sorted() {
            let relay = relays[sequence]!
            if now >= relay.expiresAt {
                relays.removeValue(forKey: sequence)
            } else if !relay.nacked && now >= relay.nackAt {
                relays[sequence]?.nacked = true
                if settings.lifeguard { send(.nack(sequence: relay.requesterSequence), to: relay.requester) }
            }
        }
    }

    private mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    // MARK: Suspicion and death

    /// This node suspects `target` after a failed probe (it is the accuser).
    private mutating func accuse(_ target: MemberID, now: ProtocolTime) {
        guard let member = table[target.name], member.id == target, member.isActive else { return }
        var news = member.gossip(includingMeta: false, accuser: me.name)
        news.state.status = .suspect
        apply(news, now: now)
    }

    /// Suspicions that come due end in a death, except (with Lifeguard) one that nobody
    /// confirmed: that one is announced again, to the suspect and by gossip, for one more probe
    /// interval. A lone suspicion is the kind raised by a lost packet; if the suspect refuted it
    /// and the refutation passed this node by, the suspect or any member that heard it answers
    /// (stale-news correction) and the suspicion ends. A member that is really gone stays silent
    /// and is declared dead one probe interval later.
    private mutating func tickSuspicions(now: ProtocolTime) {
        for name in suspicions.keys.sorted() where now >= suspicions[name]!.deadline {
            var suspicion = suspicions.removeValue(forKey: name)!
            guard let member = table[name], member.state.status == .suspect else { continue }
            if settings.lifeguard && suspicion.isUnconfirmed && suspicion.recheckUntil == nil {
                suspicion.recheck(until: now + settings.probeInterval)
                suspicions[name] = suspicion
                let news = member.gossip(includingMeta: false, accuser: me.name)
                broadcast(news)
                send(.none, to: member.address, leading: [news])
                continue
            }
            declareDead(name, now: now)
        }
    }

    private mutating func declareDead(_ name: String, now: ProtocolTime) {
        guard var member = table[name], member.isActive else { return }
        suspicions.removeValue(forKey: name)
        member.state.status = .dead
        member.since = now
        table.store(member)
        broadcast(member.gossip(includingMeta: false, accuser: me.name))
        outbox.append(.event(.dead(member)))
    }

    private mutating func startSuspicion(_ name: String, accuser: String, now: ProtocolTime) {
        let bounds = Suspicion.bounds(clusterSize: activeCount, probeInterval: settings.probeInterval,
                                      suspicionMultiplier: settings.suspicionMultiplier,
                                      maxTimeoutMultiplier: settings.suspicionMaxTimeoutMultiplier)
        // Without Lifeguard the timeout is fixed at the minimum (plain SWIM with suspicion). With
        // it, k confirmations are wanted, unless fewer members than k could ever send one (all but
        // this node and the suspect): then the minimum applies, as in memberlist, or a small
        // cluster would always wait for the maximum.
        var k = settings.lifeguard ? max(settings.suspicionMultiplier - 2, 0) : 0
        if activeCount - 2 < k { k = 0 }
        suspicions[name] = Suspicion(start: now, suspectedBy: accuser, k: k, min: bounds.min,
                                     max: settings.lifeguard ? bounds.max : bounds.min)
    }

    // MARK: Gossip

    /// Applies news about one member (see `MemberState.judge` for the precedence rules).
    mutating func apply(_ item: MemberGossip, now: ProtocolTime) {
        if item.member.name == me.name {
            applyAboutMe(item)
            return
        }
        guard var current = table[item.member.name] else {
            // Only news of a live member introduces it; a death notice about a stranger is noise.
            guard item.state.status == .alive || item.state.status == .suspect else { return }
            let member = Member(id: item.member, address: item.address, state: item.state, meta: item.meta ?? [], since: now)
            table.store(member)
            broadcast(item)
            outbox.append(.event(.joined(member)))
            if item.state.status == .suspect {
                startSuspicion(item.member.name, accuser: item.accuser, now: now)
                outbox.append(.event(.suspect(member)))
            }
            return
        }
        if current.id != item.member {
            // A restarted node (same name, new run) replaces its old self; news of an older run
            // is about a process that no longer exists.
            guard item.member.isNewer(than: current.id), item.state.status == .alive || item.state.status == .suspect else { return }
            if current.isActive { outbox.append(.event(.dead(current))) }
            suspicions.removeValue(forKey: current.id.name)
            current = Member(id: item.member, address: item.address, state: item.state, meta: item.meta ?? [], since: now)
            table.store(current)
            broadcast(item)
            outbox.append(.event(.joined(current)))
            if item.state.status == .suspect { startSuspicion(item.member.name, accuser: item.accuser, now: now) }
            return
        }
        switch current.state.judge(item.state) {
        case .ignore:
            correctStaleNews(item, current: current)
            return
        case .confirm:
            if suspicions[item.member.name]?.confirm(from: item.accuser) == true { broadcast(item) }
            return
        case .apply:
            break
        }
        let previous = current
        current.state = item.state
        current.address = item.address
        if let newMeta = item.meta { current.meta = newMeta }
        current.since = now
        table.store(current)
        broadcast(item)
        switch item.state.status {
        case .alive:
            suspicions.removeValue(forKey: item.member.name)
            switch previous.state.status {
            case .suspect: outbox.append(.event(.alive(current)))
            case .dead, .left: outbox.append(.event(.joined(current)))
            case .alive: break
            }
            if previous.meta != current.meta || previous.address != current.address {
                outbox.append(.event(.updated(current)))
            }
        case .suspect:
            startSuspicion(item.member.name, accuser: item.accuser, now: now)
            outbox.append(.event(.suspect(current)))
        case .dead:
            suspicions.removeValue(forKey: item.member.name)
            outbox.append(.event(.dead(current)))
        case .left:
            suspicions.removeValue(forKey: item.member.name)
            outbox.append(.event(.left(current)))
        }
    }

    /// Stale-news correction (with Lifeguard; an extension of its buddy system, which warns the
    /// suspect, to the other side, the accusers): news that a member is suspect or dead at an
    /// incarnation it has since refuted means the sender missed the refutation, and gossip may
    /// never bring it again (its retransmits are spent). The receiver that knows better answers the
    /// sender with the newer state, so a stale suspicion ends where it is met instead of expiring
    /// into a false death.
    /// The corrections gathered while handling one input, as many as a packet leads with.
    private mutating func takeCorrections() -> [MemberGossip] {
        defer { corrections.removeAll(keepingCapacity: true) }
        return Array(corrections.prefix(8))
    }

    private mutating func correctStaleNews(_ item: MemberGossip, current: Member) {
        guard settings.lifeguard, item.state.status == .suspect || item.state.status == .dead,
              current.state.status == .alive, current.state.incarnation > item.state.incarnation else { return }
        corrections.append(current.gossip(includingMeta: false))
    }

    /// News about this node. A suspicion, death or goodbye it did not say itself is refuted with a
    /// higher incarnation (SWIM §4.2); Lifeguard counts the refutation against local health.
    private mutating func applyAboutMe(_ item: MemberGossip) {
        guard item.member == me, !hasLeft else { return }
        switch item.state.status {
        case .alive:
            guard item.state.incarnation > incarnation else { return }
            incarnation = item.state.incarnation
        case .suspect, .dead, .left:
            guard item.state.incarnation >= incarnation else {
                // Already refuted: the sender missed the refutation. Tell it directly.
                if settings.lifeguard { corrections.append(selfMember.gossip(includingMeta: false)) }
                return
            }
            incarnation = item.state.incarnation
            counters.refutations += 1
            if settings.lifeguard { localHealth.refutedSuspicion() }
        }
        incarnation = incarnation.next
        announceSelf()
        // The sender holds the news just refuted: it hears the refutation first (with Lifeguard,
        // as the buddy system's answer).
        if settings.lifeguard && item.state.status != .alive { corrections.append(selfMember.gossip(includingMeta: false)) }
    }

    private mutating func announceSelf() {
        broadcast(selfMember.gossip(includingMeta: true))
    }

    /// Queues news for piggybacking; metadata too large for a datagram is left to syncs.
    private mutating func broadcast(_ item: MemberGossip) {
        var item = item
        var size = item.encodedSize
        if size > settings.udpPacketSize / 2, item.meta != nil {
            item.meta = nil
            size = item.encodedSize
        }
        broadcasts.enqueue(item, subject: item.member.name, size: size)
    }

    private mutating func gossipTargets(count: Int, now: ProtocolTime) -> [Member] {
        table.sample(count, using: &random) { member in
            member.isActive || (member.state.status == .dead && now - member.since < settings.gossipToTheDead)
        }
    }

    private mutating func sendGossip(to target: String) {
        send(.none, to: target)
    }

    /// Sends a packet with as much queued news as fits in the datagram budget.
    private mutating func send(_ probe: SWIMProbe, to target: String, reliable: Bool = false, leading: [MemberGossip] = []) {
        var packet = MembershipPacket(sender: me, senderAddress: address, probe: probe, gossip: leading)
        let budget = settings.udpPacketSize - FrameHeader.size - packet.encodedSize
        let items = broadcasts.take(budget: budget, overheadPerItem: 0, limit: retransmitLimit)
        packet.gossip.append(contentsOf: items.prefix(WireLimits.maxGossipPerPacket - packet.gossip.count))
        if case .none = probe, packet.gossip.isEmpty { return }
        outbox.append(.send(packet, to: target, reliable: reliable))
    }

    // MARK: Push-pull and reconnection

    /// memberlist's push-pull scale: the interval grows with the log of the cluster past 32 nodes,
    /// so the sync load per node stays flat.
    var pushPullInterval: Duration {
        let n = Double(activeCount)
        guard n > 32 else { return settings.pushPullInterval }
        return settings.pushPullInterval * Int(ceil(log2(n) - log2(32)) + 1)
    }

    private func fullState(isReply: Bool, isJoin: Bool) -> MembershipSync {
        var entries = [selfMember.gossip(includingMeta: true)]
        entries.reserveCapacity(table.count + 1)
        for member in table.sorted { entries.append(member.gossip(includingMeta: true)) }
        return MembershipSync(sender: me, senderAddress: address, isReply: isReply, isJoin: isJoin, members: entries)
    }

    /// Tries one dead or left member again (a healed partition merges without an operator), and
    /// forgets members gone for longer than `reconnectTimeout`.
    private mutating func tickReconnect(now: ProtocolTime) {
        guard table.count > table.activeCount else { return }  // nobody is dead or left
        for member in table.sorted where !member.isActive && now - member.since >= settings.reconnectTimeout {
            table.remove(member.id.name)
        }
        guard !hasLeft else { return }
        if let target = table.randomElement(using: &random, where: { !$0.isActive }) {
            outbox.append(.sync(fullState(isReply: false, isJoin: false), to: target.address))
        }
    }

    private mutating func drain() -> [SWIMDirective] {
        retransmitLimit = BroadcastQueue<MemberGossip>.retransmitLimit(clusterSize: activeCount,
                                                                       multiplier: settings.retransmitMultiplier)
        corrections.removeAll(keepingCapacity: true)  // only the input that gathered them answers
        guard !outbox.isEmpty else { return [] }
        let directives = outbox
        outbox = []
        return directives
    }
}
