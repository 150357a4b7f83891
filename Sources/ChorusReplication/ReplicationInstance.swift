import ChorusCore
import ChorusWire

/// Which replication message a payload holds (each travels as its own frame type).
public enum ReplicationMessageKind: Sendable, Equatable {
    case digest
    case deltas
    case snapshotPart
}

/// Writes a replica holds that a peer has not acknowledged (see `ReplicationInstance.backlog(of:)`).
public struct ReplicationBacklog: Sendable, Equatable {
    /// How many writes.
    public var writes: UInt64 = 0
    /// When the oldest of them was applied here; nil when there is none.
    public var oldestAppliedAt: ProtocolTime?

    public init(writes: UInt64 = 0, oldestAppliedAt: ProtocolTime? = nil) {
        self.writes = writes
        self.oldestAppliedAt = oldestAppliedAt
    }
}

/// What the shell must do for the replication core.
public enum ReplicationDirective<Key: ReplicatedKey, Value: ReplicatedValue>: Sendable {
    /// Sends the same encoded message to each of these peers.
    case send(ReplicationMessageKind, payload: [UInt8], to: [NodeUID])
    /// Streams this snapshot to the peer part by part, then calls `snapshotDone(to:)` (also when
    /// the link fails midway).
    case sendSnapshot(ReplicaSnapshotWriter<Key, Value>, to: NodeUID)
}

/// A replica of a store, kept equal to its peers' by deltas and anti-entropy; pure: no I/O, no clock.
///
/// The shell calls `write` for local writes, `peerUp`/`peerDown` as links to live members come and
/// go, `receive` for their messages and `tick` at `nextDeadline`; it carries out the directives
/// from `takeDirectives()` and persists the keys from `takeChanges()`.
///
/// Rules:
/// - **Push**: each local write is applied, logged and pushed to every peer, batched per turn of
///   the shell's loop. A peer's own writes are never relayed by push.
/// - **Causal delivery per key**: a received delta is applied once every write it replaced has been
///   seen here; until then it waits.
/// - **Anti-entropy**: on a new link both sides exchange digests. A replica answers a digest with
///   the deltas the peer lacks (leaving out, for a periodic digest, ones applied within
///   `settleTime`, which are likely on their way), or with a snapshot when its log no longer holds
///   one of them.
/// - **Periodic digests, only when there is news**: every `digestInterval` a replica sends its
///   digest to each peer that may learn something from it: one it has not told since its own
///   context changed, one whose digests show writes this replica lacks (the answer repairs it), or
///   one that has not acknowledged a write this replica applied more than `settleTime` ago (that
///   digest asks for a reply, whose arrival makes this replica repair the peer). Any other peer
///   hears one at least every `quietDigestInterval`. An idle cluster thus sends no digests but
///   those, however many members it has.
/// - **Snapshots**: at most one in flight per peer; the receiver joins it whole when the last part
///   arrives.
/// - **Collection**: see `DeltaLog`: a delta goes once every live peer has seen it and it is older
///   than `minRetention`, or when the log is full.
public struct ReplicationInstance<Key: ReplicatedKey, Value: ReplicatedValue>: Sendable {
    public let origin: NodeUID
    public let settings: ReplicationSettings
    public private(set) var state: ReplicaState<Key, Value>
    /// The sequence of this node's latest write.
    public private(set) var sequence: UInt64 = 0
    /// The latest time an input brought: a write made without a time of its own is logged at it.
    public private(set) var now: ProtocolTime

    private var log: DeltaLog<Key, Value>
    private var peers: [NodeUID: Peer] = [:]
    private var pendingPush: [KeyDelta<Key, Value>] = []
    /// Received deltas that replaced writes not seen here yet, by their dot.
    private var waiting: [Dot: KeyDelta<Key, Value>] = [:]
    private var directives: [ReplicationDirective<Key, Value>] = []
    /// Keys whose entries changed since the last `takeChanges`, with their entries after the
    /// change, in order (an append per write rather than a set insert; repeats in a row are folded).
    private var changes: [(Key, CausalEntries<Value>?)] = []
    /// Which keys a peer's change of must be reported apart (`takeWatchedChanges`), for state the
    /// shell derives from the replica (an index); nil watches none.
    private let watching: (@Sendable (Key) -> Bool)?
    private var watchedChanges: [Key] = []
    private var contextChanged = false
    /// Bumped at every change of the causal context; a peer's `toldVersion` is compared with it.
    private var contextVersion: UInt64 = 0
    private var nextDigestAt: ProtocolTime
    private var snapshotsStarted: UInt64 = 0

    private struct Peer: Sendable {
        /// Everything the peer is known to have seen (its digests and the deltas it sent).
        var known = CausalContext()
        /// `contextVersion` when this replica last sent the peer its digest (nil: never), and when.
        var toldVersion: UInt64?
        var toldAt = ProtocolTime.zero
        var sendingSnapshot = false
        var receiving: IncomingSnapshot?
    }

    /// The parts of a snapshot received so far.
    private struct IncomingSnapshot: Sendable {
        var id: UInt64
        var state = ReplicaState<Key, Value>()
        var parts: Set<UInt32> = []
        /// From the last part: the sender's context and how many parts there are.
        var context: CausalContext?
        var partCount: Int?

        var isComplete: Bool { partCount == parts.count }
    }

    /// Figures for metrics.
    public struct Counters: Sendable, Equatable {
        public var deltasPushed: UInt64 = 0
        public var deltasRepaired: UInt64 = 0
        public var deltasApplied: UInt64 = 0
        public var duplicateDeltas: UInt64 = 0
        public var digestsReceived: UInt64 = 0
        public var snapshotsSent: UInt64 = 0
        public var snapshotsReceived: UInt64 = 0
    }
    public private(set) var counters = Counters()

    /// A replica starting from `restored` (what the disk held; empty for a new node).
    public init(origin: NodeUID, settings: ReplicationSettings, restored: ReplicaState<Key, Value> = .init(),
                now: ProtocolTime, watching: (@Sendable (Key) -> Bool)? = nil) {
        self.watching = watching
        precondition(restored.context.version(of: origin) == 0, "a node's uid is new at every start")
        self.origin = origin
        self.settings = settings
        self.state = restored
        self.log = DeltaLog(capacity: settings.logCapacity)
        self.nextDigestAt = now + settings.digestInterval
        self.now = now
    }

    // MARK: Local writes

    /// Writes `value` (nil: removes the key) here. Returns the write's delta; its `dot` names it.
    @discardableResult
    public mutating func write(_ key: Key, _ value: Value?, now: ProtocolTime) -> KeyDelta<Key, Value> {
        self.now = max(self.now, now)
        sequence += 1
        let delta = state.write(key, value, dot: Dot(origin: origin, sequence: sequence))
        log.append(write: delta, at: self.now)
        if !peers.isEmpty { pendingPush.append(delta) }
        noteChanged(key, value.map { CausalEntries(CausalEntry(dot: delta.dot, value: $0)) })
        noteContextChanged()
        return delta
    }

    // MARK: Peers

    public var peerIDs: [NodeUID] { peers.keys.sorted() }

    /// A link to a live member is up: both sides send their digest and repair each other.
    public mutating func peerUp(_ peer: NodeUID) {
        guard peer != origin else { return }
        peers[peer] = Peer()
        sendDigest(to: [peer], wantsReply: true)
    }

    /// The link went down or the member left: its snapshot parts in progress are dropped.
    public mutating func peerDown(_ peer: NodeUID) {
        peers[peer] = nil
    }

    /// The snapshot for `peer` was sent, or its link failed midway.
    public mutating func snapshotDone(to peer: NodeUID) {
        peers[peer]?.sendingSnapshot = false
    }

    /// A message from a peer. A payload that does not decode throws and changes nothing.
    public mutating func receive(_ kind: ReplicationMessageKind, payload: UnsafeRawBufferPointer, from peer: NodeUID,
                                 now: ProtocolTime) throws(WireError) {
        self.now = max(self.now, now)
        switch kind {
        case .digest: receive(try ReplicaDigest(decoding: payload), from: peer, now: now)
        case .deltas: receive(try ReplicaDeltas<Key, Value>(decoding: payload), from: peer, now: now)
        case .snapshotPart: receive(try ReplicaSnapshotPart<Key, Value>(decoding: payload), from: peer, now: now)
        }
    }

    public mutating func receive(_ deltas: ReplicaDeltas<Key, Value>, from peer: NodeUID, now: ProtocolTime) {
        // What the peer is known to have seen, taken out for the message and put back after (one
        // lookup of the peer, no copy of its context).
        var known = peers[peer]?.known
        peers[peer]?.known = CausalContext()
        defer { if let known { peers[peer]?.known = known } }
        for delta in deltas.deltas {
            known?.insert(delta.dot)
            if state.context.contains(delta.dot) || (!waiting.isEmpty && waiting[delta.dot] != nil) {
                counters.duplicateDeltas += 1
                continue
            }
            if delta.removed.allSatisfy(state.context.contains) {
                applyReceived(delta, now: now)
            } else {
                // Rule: a delta waits for the writes it replaced. Applied before them, it would mark
                // them seen without their own removals taking effect here, and an entry they replaced
                // would stay forever.
                waiting[delta.dot] = delta
                if waiting.count > settings.logCapacity { waiting.remove(at: waiting.startIndex) }
            }
        }
        applyWaiting(now: now)
    }

    /// Applies a delta whose dot is new here and whose replaced writes are all seen (the callers
    /// check both), so it is logged under its own dot alone.
    private mutating func applyReceived(_ delta: KeyDelta<Key, Value>, now: ProtocolTime) {
        let outcome = state.apply(delta)
        guard outcome.isNew else {
            counters.duplicateDeltas += 1
            return
        }
        counters.deltasApplied += 1
        log.append(write: delta, at: now)
        noteContextChanged()
        if outcome.changed {
            noteChanged(delta.key, outcome.entries)
            if let watching, watching(delta.key) { watchedChanges.append(delta.key) }
        }
    }

    /// Applies the waiting deltas whose replaced writes have all been seen since, until none is left
    /// that can go; drops the ones seen meanwhile (through a snapshot).
    private mutating func applyWaiting(now: ProtocolTime) {
        var progress = !waiting.isEmpty
        while progress {
            progress = false
            for (dot, delta) in waiting {
                if state.context.contains(dot) {
                    waiting[dot] = nil
                } else if delta.removed.allSatisfy(state.context.contains) {
                    waiting[dot] = nil
                    applyReceived(delta, now: now)
                    progress = true
                }
            }
        }
    }

    /// What `peer` has not acknowledged of this replica: writes held here that its digests (or the
    /// deltas it sent) do not show yet, and when the oldest of them was applied here; nil for a
    /// node that is not a peer. The age of that write is the replication lag towards the peer:
    /// a peer acknowledges by its digests, so under steady writes the age stays below about one
    /// `digestInterval`; one that keeps growing names a peer that does not catch up. A write the
    /// log no longer holds counts from the oldest delta it holds (the peer needs a snapshot).
    public func backlog(of peer: NodeUID) -> ReplicationBacklog? {
        guard let known = peers[peer]?.known else { return nil }
        var backlog = ReplicationBacklog()
        for run in state.context.missing(from: known) {
            backlog.writes += run.count
            // The first write of a run is taken as its oldest: an origin's writes arrive mostly in order.
            let appliedAt = log.delta(for: Dot(origin: run.origin, sequence: run.first))?.appliedAt ?? log.oldestAppliedAt ?? now
            backlog.oldestAppliedAt = min(backlog.oldestAppliedAt ?? appliedAt, appliedAt)
        }
        return backlog
    }

    /// How many received deltas wait for a write they replaced.
    public var waitingDeltas: Int { waiting.count }

    public mutating func receive(_ digest: ReplicaDigest, from peer: NodeUID, now: ProtocolTime) {
        guard peers[peer] != nil else { return }
        counters.digestsReceived += 1
        peers[peer]!.known.formUnion(digest.context)
        if digest.wantsReply {
            sendDigest(to: [peer], wantsReply: false)
        }
        repair(peer, now: now, freshLink: digest.wantsReply)
    }

    public mutating func receive(_ part: ReplicaSnapshotPart<Key, Value>, from peer: NodeUID, now: ProtocolTime) {
        guard peers[peer] != nil else { return }
        if peers[peer]!.receiving?.id != part.id { peers[peer]!.receiving = IncomingSnapshot(id: part.id) }
        guard peers[peer]!.receiving!.parts.insert(part.index).inserted else { return }
        for (key, entries) in part.keys {
            for entry in entries.all { peers[peer]!.receiving!.state.absorb(key, entry) }
        }
        if let context = part.context {
            peers[peer]!.receiving!.context = context
            peers[peer]!.receiving!.partCount = Int(part.index) + 1
        }
        guard peers[peer]!.receiving!.isComplete, let context = peers[peer]!.receiving!.context else { return }
        var snapshot = peers[peer]!.receiving!.state
        peers[peer]!.receiving = nil
        snapshot.restore(context: context)
        let joined = state.join(snapshot)
        for key in joined { changes.append((key, state[key])) }
        if let watching { watchedChanges.append(contentsOf: joined.filter(watching)) }
        peers[peer]!.known.formUnion(context)
        noteContextChanged()
        counters.snapshotsReceived += 1
        applyWaiting(now: now)
    }

    /// Sends `peer` what it lacks: logged deltas, or a snapshot when the log no longer holds one.
    private mutating func repair(_ peer: NodeUID, now: ProtocolTime, freshLink: Bool) {
        guard let known = peers[peer]?.known, !peers[peer]!.sendingSnapshot else { return }
        let settled = now - settings.settleTime
        var chosen: [KeyDelta<Key, Value>] = []
        var sentDots: Set<Dot> = []
        for run in state.context.missing(from: known) {
            for dot in run.dots {
                guard let (delta, appliedAt) = log.delta(for: dot) else {
                    startSnapshot(for: peer)
                    return
                }
                if !freshLink, appliedAt > settled { continue }
                if sentDots.insert(delta.dot).inserted { chosen.append(delta) }
            }
        }
        guard !chosen.isEmpty else { return }
        counters.deltasRepaired += UInt64(chosen.count)
        sendDeltas(chosen, to: [peer])
    }

    private mutating func startSnapshot(for peer: NodeUID) {
        peers[peer]!.sendingSnapshot = true
        snapshotsStarted += 1
        counters.snapshotsSent += 1
        // The id tells this snapshot's parts from an earlier one's, should that have been cut off.
        let id = origin.rawValue &* 0x9E37_79B9_7F4A_7C15 &+ snapshotsStarted
        directives.append(.sendSnapshot(ReplicaSnapshotWriter(state: state, id: id), to: peer))
    }

    // MARK: Time

    /// When `tick` is due next.
    public var nextDeadline: ProtocolTime { nextDigestAt }

    public mutating func tick(now: ProtocolTime) {
        self.now = max(self.now, now)
        guard now >= nextDigestAt else { return }
        nextDigestAt = now + settings.digestInterval
        var told: [NodeUID] = []
        var asked: [NodeUID] = []
        let settled = now - settings.settleTime
        for (id, peer) in peers {
            if peer.toldVersion != contextVersion || now - peer.toldAt >= settings.quietDigestInterval
                || !peer.known.missing(from: state.context).isEmpty {
                told.append(id)
            } else if let oldest = backlog(of: id)?.oldestAppliedAt, oldest <= settled {
                asked.append(id)
            }
        }
        if !told.isEmpty { sendDigest(to: told.sorted(), wantsReply: false) }
        if !asked.isEmpty { sendDigest(to: asked.sorted(), wantsReply: true) }
        let retained = now - settings.minRetention
        let contexts = peers.values.map(\.known)
        log.collect(appliedBefore: retained) { dot in contexts.allSatisfy { $0.contains(dot) } }
    }

    // MARK: Outputs

    /// The directives produced since the last call, with this turn's pushes batched.
    public mutating func takeDirectives() -> [ReplicationDirective<Key, Value>] {
        if !pendingPush.isEmpty {
            let pushes = pendingPush
            pendingPush.removeAll(keepingCapacity: true)
            if !peers.isEmpty {
                counters.deltasPushed += UInt64(pushes.count)
                sendDeltas(pushes, to: peerIDs)
            }
        }
        let result = directives
        directives.removeAll()
        return result
    }

    /// The keys whose entries changed, each with its entries after the change (nil: removed), and
    /// whether the causal context changed, since the last call: what the shell must persist, in
    /// order (a later change of a key supersedes an earlier one). Hands the list over without
    /// copying it; a key may appear more than once (not twice in a row).
    public mutating func takeChanges() -> (changes: [(Key, CausalEntries<Value>?)], contextChanged: Bool) {
        let taken = changes
        // The next batch is likely about as big: room for it at once, not a doubling at a time.
        changes = []
        changes.reserveCapacity(taken.count)
        defer { contextChanged = false }
        return (taken, contextChanged)
    }

    private mutating func noteChanged(_ key: Key, _ entries: CausalEntries<Value>?) {
        // Compared in place: reading `changes[last]` would copy the pair out first.
        let folded = changes.withUnsafeMutableBufferPointer { buffer in
            guard let last = buffer.indices.last, buffer[last].0 == key else { return false }
            buffer[last].1 = entries
            return true
        }
        if !folded { changes.append((key, entries)) }
    }

    /// Whether anything changed since the last `takeChanges`.
    public var hasChanges: Bool { !changes.isEmpty || contextChanged }

    /// The watched keys (see `init`) that a peer's delta or snapshot changed since the last call.
    /// Local writes are not reported: whoever made them knows.
    public mutating func takeWatchedChanges() -> [Key] {
        guard !watchedChanges.isEmpty else { return [] }
        defer { watchedChanges = [] }
        return watchedChanges
    }

    /// How many deltas the log holds.
    public var loggedDeltas: Int { log.count }

    private mutating func noteContextChanged() {
        contextChanged = true
        contextVersion &+= 1
    }

    /// Sends this replica's digest to `targets`, noting what they were told and when.
    private mutating func sendDigest(to targets: [NodeUID], wantsReply: Bool) {
        for target in targets {
            peers[target]?.toldVersion = contextVersion
            peers[target]?.toldAt = now
        }
        send(.digest, ReplicaDigest(context: state.context, wantsReply: wantsReply), to: targets)
    }

    private mutating func send(_ kind: ReplicationMessageKind, _ body: some WireBody, to peers: [NodeUID]) {
        directives.append(.send(kind, payload: body.encoded(), to: peers))
    }

    private mutating func sendDeltas(_ deltas: [KeyDelta<Key, Value>], to peers: [NodeUID]) {
        var writer = WireWriter(reservingCapacity: min(settings.messageBytes, 1 << 20) + 1024)
        var count: UInt32 = 0
        writer.writeUInt32(0)
        for delta in deltas {
            if count > 0, writer.count >= settings.messageBytes {
                writer.setUInt32(count, at: 0)
                directives.append(.send(.deltas, payload: writer.finish(), to: peers))
                writer = WireWriter(reservingCapacity: settings.messageBytes + 1024)
                writer.writeUInt32(0)
                count = 0
            }
            delta.encode(to: &writer)
            count += 1
        }
        writer.setUInt32(count, at: 0)
        directives.append(.send(.deltas, payload: writer.finish(), to: peers))
    }
}
