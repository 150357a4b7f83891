import ChorusCore
import ChorusLoop
import ChorusReplication
import ChorusStorage
import ChorusStores
import ChorusWire
import Logging
import Synchronization

/// A keyspace of the stores on a node: its replication core and the shapes' catalog derived from
/// it, shared under a lock by the callers that write and read it and by the data loop that carries
/// its messages, made durable through the node's storage writer. The node has two: the replicated
/// keyspace, and a local one (never linked to peers) for stores kept on this node only.
///
/// Threads:
/// - local writes and reads run on the caller's thread, under `core`'s lock (reads come from
///   memory, as the seeds read ETS);
/// - the core's messages go out and come in on the data loop (`PeerLinks`), which also runs its
///   ticks and streams its snapshots as the links take them;
/// - changed keys are committed by the storage writer's thread, one transaction at a time: what
///   changes while one commits goes into the next (group commit). A local write is acknowledged
///   once the transaction that holds it has committed.
final class StoreShell: @unchecked Sendable {
    typealias Key = StoreKey
    typealias Value = StoreValue

    // Safety of @unchecked Sendable: `core` is a LockedValue; `addressOf`, `snapshots`, `timer` and
    // `stopped` are touched on `loop` only (each entry point checks).

    private struct Core {
        var instance: ReplicationInstance<Key, Value>
        /// The shapes' status, whose catalog follows every change.
        var shapes: ShapeStatus
        /// Keys and context a failed commit held, for the next one (the core holds what changed
        /// since the last commit began).
        var unpersisted: Set<Key> = []
        var unpersistedContext = false
        /// Changes journaled since the last fold into rows.
        var journaledRecords: Int
        /// The fewest journaled records a fold waits for (so that folds are big, sorted batches).
        let minimumCompaction: Int
        /// This node's writes are durable up to this sequence.
        var durableUpTo: UInt64 = 0
        /// Callers waiting for their write to be durable, by sequence (ascending).
        var durableWaiters: [(sequence: UInt64, continuation: CheckedContinuation<Result<Void, StoreError>, Never>)] = []
        var committing = false
        var lastFailure: String?
        /// Callers waiting until a dot is applied here (LSN trackers), by dot then waiter id.
        var appliedWaiters: [Dot: [UInt64: AppliedWaiter]] = [:]
        var nextWaiterID: UInt64 = 0
        /// When each LSN waiter gives up, soonest first; `sweepArmed` while a timer watches them.
        var waiterDeadlines = WaiterDeadlines()
        var sweepArmed = false
        var flushScheduled = false
        var stopped = false
        /// The linked peers' names, for figures.
        var peerNames: [NodeUID: String] = [:]

        /// Keeps the shapes' catalog up to date with a peer's changes (the shapes' own writes
        /// update it themselves).
        mutating func absorbChanges() {
            let watched = instance.takeWatchedChanges()
            if !watched.isEmpty { shapes.update(watched, in: instance) }
        }

        /// After a change, under the lock: what must follow it outside the lock.
        mutating func followUp() -> FollowUp {
            absorbChanges()
            var followUp = FollowUp()
            if !appliedWaiters.isEmpty {
                for (dot, waiters) in appliedWaiters where instance.state.context.contains(dot) {
                    followUp.ready.append(contentsOf: waiters.values)
                    appliedWaiters[dot] = nil
                }
            }
            if !flushScheduled && !stopped {
                flushScheduled = true
                followUp.flush = true
            }
            followUp.commit = takeCommit()
            return followUp
        }

        /// The changed keys and context for a commit, unless one is under way (its completion takes
        /// the next).
        mutating func takeCommit() -> Commit? {
            guard !committing, instance.hasChanges || !unpersisted.isEmpty || unpersistedContext else { return nil }
            committing = true
            var (changes, contextChanged) = instance.takeChanges()
            let state = instance.state
            if !unpersisted.isEmpty {
                // Before this commit's own changes, which are later.
                changes = unpersisted.map { ($0, state[$0]) } + changes
                unpersisted.removeAll()
            }
            journaledRecords += changes.count
            // Rule: the journal is folded into rows once it holds twice as many changes as the
            // replica holds keys (and at least `minimumCompaction`): a fold then costs at most half
            // a row write per journaled change, and a restart replays at most that much journal.
            let fold = journaledRecords >= max(minimumCompaction, 2 * state.keyCount)
            if fold { journaledRecords = 0 }
            let context = contextChanged || unpersistedContext ? state.context : nil
            unpersistedContext = false
            return Commit(changes: changes, context: context, sequence: instance.sequence, fold: fold)
        }
    }

    /// What a commit writes: changed keys with their entries (nil: removed), in order, as one
    /// journal record, the context if it changed, and this node's writes it makes durable (up to
    /// `sequence`); `fold` folds the journal into rows in the same transaction.
    struct Commit: Sendable {
        var changes: [(Key, CausalEntries<Value>?)]
        var context: CausalContext?
        var sequence: UInt64
        var fold: Bool
    }

    /// Work a change leaves for outside the lock.
    struct FollowUp {
        var ready: [AppliedWaiter] = []
        var flush = false
        var commit: Commit?
    }

    /// Carries out a follow-up: wakes LSN waiters, schedules the flush, submits the commit.
    private func perform(_ followUp: FollowUp) {
        for waiter in followUp.ready { waiter(true) }
        if followUp.flush { _ = loop.execute { [self] in flush() } }
        if let commit = followUp.commit { submit(commit) }
    }

    /// A pthread mutex (LockedValue), not `Synchronization.Mutex`: on Linux, Mutex takes a
    /// priority-inheritance futex, whose contended path goes through the kernel's rt_mutex; callers
    /// and the data loop meet on this lock at every write.
    private let core: LockedValue<Core>
    let loop: EventLoop
    private let links: PeerLinks
    private let writer: StorageWriter
    private let keyspace: Keyspace
    private let contextMetaName: String
    private let logger: Logger
    private let rejections: RejectionLog
    private var addressOf: [NodeUID: String] = [:]
    private var snapshots: [NodeUID: ReplicaSnapshotWriter<Key, Value>] = [:]
    private var timer = DeadlineTimer()
    private var loopStopped = false

    /// Opens the keyspace's rows in `storage` (read before the writer takes it over) and starts a
    /// replica of them for this node run (`origin`).
    init(origin: NodeUID, settings: ReplicationSettings, restored: ReplicaState<Key, Value>, journaled: Int, writer: StorageWriter,
         keyspace: Keyspace, contextMetaName: String, compactionRecords: Int, loop: EventLoop, links: PeerLinks, logger: Logger) {
        let instance = ReplicationInstance<Key, Value>(origin: origin, settings: settings, restored: restored,
                                                       now: DeadlineTimer.now, watching: { if case .shape = $0 { true } else { false } })
        self.core = LockedValue(Core(instance: instance, shapes: ShapeStatus(of: instance), journaledRecords: journaled,
                                     minimumCompaction: compactionRecords))
        self.writer = writer
        self.keyspace = keyspace
        self.contextMetaName = contextMetaName
        self.loop = loop
        self.links = links
        self.logger = logger
        self.rejections = RejectionLog(logger: logger)
    }

    /// Reads a keyspace's rows and saved context from `storage`. A row that does not decode is
    /// an error (the file is damaged or from another version), not something to skip.
    static func restore(from storage: NodeStorage, keyspace: Keyspace, contextMetaName: String)
        throws -> (state: ReplicaState<Key, Value>, journaled: Int) {
        var state = ReplicaState<Key, Value>()
        state.reserveCapacity(try storage.rowCount(keyspace: keyspace) + storage.journalChangeCount(keyspace: keyspace))
        if let saved = try storage.meta(contextMetaName) {
            state.restore(context: try CausalContext(decoding: saved))
        }
        try storage.forEachRow(keyspace: keyspace) { key, value in
            state.restore(try Key(decoding: key), try CausalEntries<Value>(decoding: value))
        }
        // Then the journal, oldest first: a later change of a key replaces an earlier one.
        var journaled = 0
        try storage.forEachJournalChange(keyspace: keyspace) { key, value in
            state.restore(try Key(decoding: key), try value.map { try CausalEntries<Value>(decoding: $0) })
            journaled += 1
        }
        return (state, journaled)
    }

    // MARK: Callers' threads

    /// A write: runs `body` under the lock and, in the same hold, registers to be told when its
    /// last write (the dot `body` returns) is committed; returns then. `applied` is called with
    /// that dot as soon as it is applied here, before it is durable. Nil (nothing written) returns
    /// at once.
    func write(_ body: (inout ReplicationInstance<Key, Value>, inout ShapeStatus) throws(StoreError) -> Dot?,
               applied: ((Dot) -> Void)? = nil) async throws(StoreError) -> Dot? {
        var written: Dot?
        let result: Result<Void, StoreError> = await withCheckedContinuation { continuation in
            let (outcome, followUp): (Result<Void, StoreError>?, FollowUp?) = core.withLock { core in
                guard !core.stopped else { return (.failure(.nodeStopped), nil) }
                do throws(StoreError) {
                    written = try body(&core.instance, &core.shapes)
                } catch {
                    return (.failure(error), core.followUp())
                }
                let followUp = core.followUp()
                guard let dot = written, core.durableUpTo < dot.sequence else { return (.success(()), followUp) }
                // Waiters arrive almost always in sequence order: insert from the back.
                var index = core.durableWaiters.endIndex
                while index > 0, core.durableWaiters[index - 1].sequence > dot.sequence { index -= 1 }
                core.durableWaiters.insert((dot.sequence, continuation), at: index)
                return (nil, followUp)
            }
            if let written { applied?(written) }
            if let followUp { perform(followUp) }
            if let outcome { continuation.resume(returning: outcome) }
        }
        try result.get()
        return written
    }

    /// Reads the replica under the lock.
    func read<R>(_ body: (ReplicationInstance<Key, Value>, ShapeStatus) throws(StoreError) -> R) throws(StoreError) -> R {
        let result: Result<R, StoreError> = core.withLock { core in
            do throws(StoreError) { return .success(try body(core.instance, core.shapes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Reads the replication core's figures under the lock.
    func inspect<R>(_ body: (borrowing ReplicationInstance<Key, Value>) -> R) -> R {
        core.withLock { body($0.instance) }
    }

    /// Whether the write `dot` has been applied here.
    func isApplied(_ dot: Dot) -> Bool {
        core.withLock { $0.instance.state.context.contains(dot) }
    }

    /// Told true once a write is applied here, or false when its time is up or the node stops;
    /// called once, on the thread that applied the write (or the loop's), outside the lock.
    typealias AppliedWaiter = @Sendable (Bool) -> Void

    /// Returns true once `dot` is applied here, false after `timeoutMillis`. Waiting costs nothing
    /// but the entry itself: applied writes are checked against waiters only while there are any.
    func awaitApplied(_ dot: Dot, timeoutMillis: UInt64) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            whenApplied(dot, timeoutMillis: timeoutMillis) { continuation.resume(returning: $0) }
        }
    }

    /// Calls `waiter` with true once `dot` is applied here (at once if it is), false after
    /// `timeoutMillis`.
    func whenApplied(_ dot: Dot, timeoutMillis: UInt64, _ waiter: @escaping AppliedWaiter) {
        let deadline = DeadlineTimer.now + .milliseconds(Int64(timeoutMillis))
        let (registered, armSweep): (Bool, Bool) = core.withLock { core in
            if core.instance.state.context.contains(dot) || core.stopped { return (false, false) }
            core.nextWaiterID += 1
            core.appliedWaiters[dot, default: [:]][core.nextWaiterID] = waiter
            core.waiterDeadlines.add(deadline: deadline, dot: dot, waiter: core.nextWaiterID)
            let arm = !core.sweepArmed
            core.sweepArmed = true
            return (true, arm)
        }
        guard registered else {
            waiter(isApplied(dot))
            return
        }
        if armSweep, !loop.execute({ [self] in sweepWaiters() }) { sweepWaiters(expireAll: true) }
    }

    /// Answers the LSN waiters whose time is up, then sleeps until the next one's (one timer for
    /// all of them, armed only while any waits).
    private func sweepWaiters(expireAll: Bool = false) {
        let now = DeadlineTimer.now
        let (expired, next): ([AppliedWaiter], ProtocolTime?) = core.withLock { core in
            var expired: [AppliedWaiter] = []
            while let first = core.waiterDeadlines.first, expireAll || first.deadline <= now {
                core.waiterDeadlines.removeFirst()
                if let found = core.appliedWaiters[first.dot]?.removeValue(forKey: first.waiter) {
                    expired.append(found)
                    if core.appliedWaiters[first.dot]?.isEmpty == true { core.appliedWaiters[first.dot] = nil }
                }
            }
            let next = core.waiterDeadlines.first?.deadline
            if next == nil { core.sweepArmed = false }
            return (expired, next)
        }
        for waiter in expired { waiter(false) }
        guard let next, !expireAll else { return }
        let millis = next > now ? (next.nanos - now.nanos + 999_999) / 1_000_000 : 0
        loop.scheduleTimer(afterMillis: millis) { [weak self] _ in self?.sweepWaiters() }
    }

    // MARK: Durability

    /// Writes a commit through the storage writer.
    private func submit(_ commit: Commit) {
        var writes: [StorageWrite] = [.journal(keyspace: keyspace, record: JournalRecord(commit.changes))]
        if commit.fold { writes.append(.foldJournal(keyspace: keyspace)) }
        if let context = commit.context { writes.append(.meta(name: contextMetaName, value: context.encoded())) }
        writer.submit(writes) { [self] result in
            committed(commit, result)
        }
    }

    /// A commit finished (on the writer's thread): acknowledges the writes it held, or keeps its
    /// keys for the next one.
    private func committed(_ commit: Commit, _ result: Result<Void, StorageError>) {
        let sequence = commit.sequence
        var failure: StoreError?
        if case let .failure(error) = result { failure = .notPersisted("\(error)") }
        let (done, next) = core.withLock { core -> ([(sequence: UInt64, continuation: CheckedContinuation<Result<Void, StoreError>, Never>)], Commit?) in
            core.committing = false
            if let failure {
                // Written again by the next commit (a full disk may clear); these writes fail now.
                core.unpersisted.formUnion(commit.changes.lazy.map(\.0))
                core.unpersistedContext = core.unpersistedContext || commit.context != nil
                // The journal was not emptied: the next commit folds it again.
                if commit.fold { core.journaledRecords = max(core.journaledRecords, core.minimumCompaction) }
                core.lastFailure = "\(failure)"
            } else {
                core.durableUpTo = max(core.durableUpTo, sequence)
                core.lastFailure = nil
            }
            let done: [(sequence: UInt64, continuation: CheckedContinuation<Result<Void, StoreError>, Never>)]
            if core.durableWaiters.last.map({ $0.sequence <= sequence }) ?? true {
                // The common case: the commit holds every waiting write; hand the list over whole.
                done = core.durableWaiters
                core.durableWaiters = []
                core.durableWaiters.reserveCapacity(done.count)
            } else {
                let count = core.durableWaiters.prefix { $0.sequence <= sequence }.count
                done = Array(core.durableWaiters.prefix(count))
                core.durableWaiters.removeFirst(count)
            }
            return (done, core.takeCommit())
        }
        if let failure {
            logger.error("could not persist \(commit.changes.count) changes: \(failure)")
            for waiter in done { waiter.continuation.resume(returning: .failure(failure)) }
        } else {
            for waiter in done { waiter.continuation.resume(returning: .success(())) }
        }
        if let next { submit(next) }
    }

    // MARK: The data loop

    /// Starts the core's timer.
    func start() {
        loop.preconditionInLoop()
        rearm()
    }

    /// Carries out the core's directives: messages to peers, snapshots as the links take them.
    private func flush() {
        loop.preconditionInLoop()
        let directives = core.withLock { core in
            core.flushScheduled = false
            return core.instance.takeDirectives()
        }
        guard !loopStopped else { return }
        for directive in directives {
            switch directive {
            case let .send(kind, payload, peers):
                let frame = WireCodec.frame(Self.type(of: kind), payload: payload)
                for peer in peers {
                    if let address = addressOf[peer] { links.send(frame, toNodeAt: address) }
                }
            case let .sendSnapshot(snapshot, peer):
                snapshots[peer] = snapshot
                pumpSnapshot(to: peer)
            }
        }
        rearm()
    }

    /// Sends the parts of the snapshot for `peer` while its link takes them.
    private func pumpSnapshot(to peer: NodeUID) {
        guard var snapshot = snapshots[peer] else { return }
        guard let address = addressOf[peer] else {
            snapshots[peer] = nil
            core.withLock { $0.instance.snapshotDone(to: peer) }
            return
        }
        while links.isWritable(toNodeAt: address), let part = snapshot.nextPart() {
            links.send(WireCodec.frame(.replicaSnapshotPart, payload: part), toNodeAt: address)
        }
        if snapshot.isFinished {
            snapshots[peer] = nil
            core.withLock { $0.instance.snapshotDone(to: peer) }
        } else {
            snapshots[peer] = snapshot
        }
    }

    /// A link can take frames again: resumes a snapshot waiting for it.
    func linkWritable(_ address: String) {
        loop.preconditionInLoop()
        for (peer, peerAddress) in addressOf where peerAddress == address && snapshots[peer] != nil {
            pumpSnapshot(to: peer)
        }
    }

    func linkEstablished(_ peer: PeerInfo) {
        loop.preconditionInLoop()
        guard !loopStopped else { return }
        addressOf[peer.uid] = peer.bindAddress
        core.withLock { core in
            core.instance.peerUp(peer.uid)
            core.peerNames[peer.uid] = peer.name
        }
        flush()
    }

    func linkLost(_ peer: PeerInfo) {
        loop.preconditionInLoop()
        addressOf[peer.uid] = nil
        snapshots[peer.uid] = nil
        core.withLock { core in
            core.instance.peerDown(peer.uid)
            core.peerNames[peer.uid] = nil
        }
    }

    /// A replication frame from a peer. One that does not decode is logged and dropped whole.
    func received(_ type: MessageType, payload: UnsafeRawBufferPointer, from peer: PeerInfo) {
        loop.preconditionInLoop()
        guard let kind = Self.kind(of: type) else { return }
        let (outcome, followUp): (Result<Void, WireError>, FollowUp?) = core.withLock { core in
            guard !core.stopped else { return (.success(()), nil) }
            do throws(WireError) {
                try core.instance.receive(kind, payload: payload, from: peer.uid, now: DeadlineTimer.now)
                return (.success(()), core.followUp())
            } catch {
                return (.failure(error), nil)
            }
        }
        if let followUp { perform(followUp) }
        if case let .failure(error) = outcome {
            rejections.reject(transport: "tcp", reason: error.reasonLabel, nowMillis: loop.nowMillis,
                              "dropped a malformed \(type) from \(peer.name) (\(peer.uid)): \(error)")
        }
    }

    private func rearm() {
        guard !loopStopped else { return }
        let deadline = core.withLock { $0.instance.nextDeadline }
        timer.arm(for: deadline, on: loop) { [weak self] in
            guard let self else { return }
            self.timer.fired()
            let followUp = self.core.withLock { core in
                core.instance.tick(now: DeadlineTimer.now)
                return core.followUp()
            }
            self.perform(followUp)
            self.flush()
        }
    }

    /// Stops sending and receiving, commits what is pending, and fails the callers still waiting.
    func stop() {
        loop.preconditionInLoop()
        loopStopped = true
        timer.cancel()
        snapshots.removeAll()
    }

    /// After the loop has stopped: refuses further writes, answers the LSN waiters, and commits
    /// what is pending (the caller then flushes and shuts the writer down, and calls `failWaiters`).
    func finish() {
        let applied = core.withLock { core in
            core.stopped = true
            let applied = core.appliedWaiters.values.flatMap(\.values)
            core.appliedWaiters.removeAll()
            return applied
        }
        for waiter in applied { waiter(false) }
        commitPending()
    }

    /// Whether a commit is under way or changes wait for one.
    var hasPendingCommits: Bool {
        core.withLock { $0.committing || $0.instance.hasChanges || !$0.unpersisted.isEmpty || $0.unpersistedContext }
    }

    /// Commits what a finished commit left pending (after `finish`, until nothing is).
    func commitPending() {
        if let commit = core.withLock({ $0.takeCommit() }) { submit(commit) }
    }

    /// After the writer shut down: the callers still waiting learn their write was not persisted.
    func failWaiters() {
        let waiting = core.withLock { core in
            let waiting = core.durableWaiters
            core.durableWaiters.removeAll()
            return waiting
        }
        for waiter in waiting { waiter.continuation.resume(returning: .failure(.nodeStopped)) }
    }

    // MARK: Figures

    /// Replication towards each linked peer, by name (a node's runs merged: the larger backlog),
    /// sorted by name: writes it has not acknowledged, and the age of the oldest.
    func peerBacklogs() -> [PeerReplication] {
        let now = DeadlineTimer.now
        let byName: [String: PeerReplication] = core.withLock { core in
            var byName: [String: PeerReplication] = [:]
            for (uid, name) in core.peerNames {
                guard let backlog = core.instance.backlog(of: uid) else { continue }
                let lag = backlog.oldestAppliedAt.map { now > $0 ? Double(now.nanos - $0.nanos) / 1e9 : 0 } ?? 0
                let figure = PeerReplication(peer: name, pendingDeltas: backlog.writes, lagSeconds: lag)
                if let other = byName[name], other.lagSeconds >= lag { continue }
                byName[name] = figure
            }
            return byName
        }
        return byName.values.sorted { $0.peer < $1.peer }
    }

    /// The last commit error, if the latest commit failed.
    var lastFailure: String? { core.withLock { $0.lastFailure } }

    private static func type(of kind: ReplicationMessageKind) -> MessageType {
        switch kind {
        case .digest: .replicaDigest
        case .deltas: .replicaDeltas
        case .snapshotPart: .replicaSnapshotPart
        }
    }

    private static func kind(of type: MessageType) -> ReplicationMessageKind? {
        switch type {
        case .replicaDigest: .digest
        case .replicaDeltas: .deltas
        case .replicaSnapshotPart: .snapshotPart
        default: nil
        }
    }
}

/// LSN waiters by deadline, soonest first. Waiters mostly arrive with the same timeout, so a new
/// deadline is almost always the latest: appending is the common case, a sorted insert the rare one.
struct WaiterDeadlines {
    struct Entry {
        var deadline: ProtocolTime
        var dot: Dot
        var waiter: UInt64
    }

    private var entries: [Entry] = []
    private var head = 0

    var first: Entry? { head < entries.count ? entries[head] : nil }

    mutating func add(deadline: ProtocolTime, dot: Dot, waiter: UInt64) {
        let entry = Entry(deadline: deadline, dot: dot, waiter: waiter)
        var index = entries.endIndex
        while index > head, entries[index - 1].deadline > deadline { index -= 1 }
        entries.insert(entry, at: index)
    }

    mutating func removeFirst() {
        head += 1
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
