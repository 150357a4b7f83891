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

    // Safety of @unchecked Sendable: `core` is a Mutex; `addressOf`, `snapshots`, `timer` and
    // `stopped` are touched on `loop` only (each entry point checks).

    private struct Core: ~Copyable {
        var instance: ReplicationInstance<Key, Value>
        /// The shapes' status, whose catalog follows every change.
        var shapes: ShapeStatus
        /// Keys changed since the commit under way began, and whether the context did.
        var unpersisted: Set<Key> = []
        var unpersistedContext = false
        /// This node's writes are durable up to this sequence.
        var durableUpTo: UInt64 = 0
        /// Callers waiting for their write to be durable, by sequence (ascending).
        var durableWaiters: [(sequence: UInt64, continuation: CheckedContinuation<Result<Void, StoreError>, Never>)] = []
        var committing = false
        var lastFailure: String?
        /// Callers waiting until a dot is applied here (LSN trackers), by dot then waiter id.
        var appliedWaiters: [Dot: [UInt64: CheckedContinuation<Bool, Never>]] = [:]
        var nextWaiterID: UInt64 = 0
        var flushScheduled = false
        var stopped = false

        /// Takes the core's changes: the catalog follows them, the next commit writes them.
        mutating func absorbChanges() {
            let (keys, contextChanged) = instance.takeChanges()
            if !keys.isEmpty {
                shapes.update(keys, in: instance)
                unpersisted.formUnion(keys)
            }
            unpersistedContext = unpersistedContext || contextChanged
        }
    }

    private let core: Mutex<Core>
    let loop: EventLoop
    private let links: PeerLinks
    private let writer: StorageWriter
    private let keyspace: Keyspace
    private let contextMetaName: String
    private let logger: Logger
    private var addressOf: [NodeUID: String] = [:]
    private var snapshots: [NodeUID: ReplicaSnapshotWriter<Key, Value>] = [:]
    private var timer = DeadlineTimer()
    private var loopStopped = false

    /// Opens the keyspace's rows in `storage` (read before the writer takes it over) and starts a
    /// replica of them for this node run (`origin`).
    init(origin: NodeUID, settings: ReplicationSettings, restored: ReplicaState<Key, Value>, writer: StorageWriter,
         keyspace: Keyspace, contextMetaName: String, loop: EventLoop, links: PeerLinks, logger: Logger) {
        let instance = ReplicationInstance<Key, Value>(origin: origin, settings: settings, restored: restored,
                                                       now: DeadlineTimer.now)
        self.core = Mutex(Core(instance: instance, shapes: ShapeStatus(of: instance)))
        self.writer = writer
        self.keyspace = keyspace
        self.contextMetaName = contextMetaName
        self.loop = loop
        self.links = links
        self.logger = logger
    }

    /// Reads a keyspace's rows and saved context from `storage`. A row that does not decode is
    /// an error (the file is damaged or from another version), not something to skip.
    static func restore(from storage: NodeStorage, keyspace: Keyspace, contextMetaName: String)
        throws -> ReplicaState<Key, Value> {
        var state = ReplicaState<Key, Value>()
        if let saved = try storage.meta(contextMetaName) {
            state.restore(context: try CausalContext(decoding: saved))
        }
        try storage.forEachRow(keyspace: keyspace) { key, value in
            state.restore(try Key(decoding: key), try CausalEntries<Value>(decoding: value))
        }
        return state
    }

    // MARK: Callers' threads

    /// Runs `body` on the replica under the lock, then sends and persists what it changed.
    /// Throws `stopped` once the node is stopping.
    func mutate<R>(_ body: (inout ReplicationInstance<Key, Value>, inout ShapeStatus) throws(StoreError) -> R) throws(StoreError) -> R {
        let result: Result<R, StoreError> = core.withLock { core in
            guard !core.stopped else { return .failure(.nodeStopped) }
            defer { core.absorbChanges() }
            do throws(StoreError) { return .success(try body(&core.instance, &core.shapes)) } catch { return .failure(error) }
        }
        afterChange()
        return try result.get()
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

    /// Returns once this node's write number `sequence` is committed to disk.
    func awaitDurable(_ sequence: UInt64) async throws(StoreError) {
        let result: Result<Void, StoreError> = await withCheckedContinuation { continuation in
            let outcome: Result<Void, StoreError>? = core.withLock { core in
                if core.durableUpTo >= sequence { return .success(()) }
                if core.stopped { return .failure(.nodeStopped) }
                // Waiters arrive almost always in sequence order: insert from the back.
                var index = core.durableWaiters.endIndex
                while index > 0, core.durableWaiters[index - 1].sequence > sequence { index -= 1 }
                core.durableWaiters.insert((sequence, continuation), at: index)
                return nil
            }
            if let outcome { continuation.resume(returning: outcome) }
        }
        try result.get()
    }

    /// Whether the write `dot` has been applied here.
    func isApplied(_ dot: Dot) -> Bool {
        core.withLock { $0.instance.state.context.contains(dot) }
    }

    /// Returns true once `dot` is applied here, false after `timeoutMillis`. Waiting costs nothing
    /// but the entry itself: applied writes are checked against waiters only while there are any.
    func awaitApplied(_ dot: Dot, timeoutMillis: UInt64) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiter: UInt64? = core.withLock { core in
                if core.instance.state.context.contains(dot) || core.stopped { return nil }
                core.nextWaiterID += 1
                core.appliedWaiters[dot, default: [:]][core.nextWaiterID] = continuation
                return core.nextWaiterID
            }
            guard let waiter else {
                continuation.resume(returning: isApplied(dot))
                return
            }
            let scheduled = loop.execute { [self] in
                loop.scheduleTimer(afterMillis: timeoutMillis) { [self] _ in
                    let expired = core.withLock { core -> CheckedContinuation<Bool, Never>? in
                        let found = core.appliedWaiters[dot]?.removeValue(forKey: waiter)
                        if core.appliedWaiters[dot]?.isEmpty == true { core.appliedWaiters[dot] = nil }
                        return found
                    }
                    expired?.resume(returning: false)
                }
            }
            if !scheduled {
                let expired = core.withLock { $0.appliedWaiters[dot]?.removeValue(forKey: waiter) }
                expired?.resume(returning: false)
            }
        }
    }

    /// After any change: wakes the waiters it satisfied, schedules a flush of its messages on the
    /// loop and a commit of its keys.
    private func afterChange() {
        let (ready, scheduleFlush) = core.withLock { core -> ([CheckedContinuation<Bool, Never>], Bool) in
            var ready: [CheckedContinuation<Bool, Never>] = []
            if !core.appliedWaiters.isEmpty {
                for (dot, waiters) in core.appliedWaiters where core.instance.state.context.contains(dot) {
                    ready.append(contentsOf: waiters.values)
                    core.appliedWaiters[dot] = nil
                }
            }
            let schedule = !core.flushScheduled && !core.stopped
            if schedule { core.flushScheduled = true }
            return (ready, schedule)
        }
        for waiter in ready { waiter.resume(returning: true) }
        if scheduleFlush { _ = loop.execute { [self] in flush() } }
        commitIfIdle()
    }

    // MARK: Durability

    /// Starts a commit of everything changed, unless one is under way (its completion starts the
    /// next).
    private func commitIfIdle() {
        let batch: (keys: [(Key, CausalEntries<Value>?)], context: CausalContext?, sequence: UInt64)? = core.withLock { core in
            guard !core.committing, !core.unpersisted.isEmpty || core.unpersistedContext else { return nil }
            core.committing = true
            let state = core.instance.state
            let keys = core.unpersisted.map { ($0, state[$0]) }
            let context = core.unpersistedContext ? state.context : nil
            core.unpersisted.removeAll(keepingCapacity: true)
            core.unpersistedContext = false
            return (keys, context, core.instance.sequence)
        }
        guard let batch else { return }
        var writes: [StorageWrite] = []
        writes.reserveCapacity(batch.keys.count + 1)
        for (key, entries) in batch.keys {
            let encodedKey = key.encoded()
            if let entries {
                writes.append(.put(keyspace: keyspace, key: encodedKey, value: entries.encoded()))
            } else {
                writes.append(.delete(keyspace: keyspace, key: encodedKey))
            }
        }
        if let context = batch.context { writes.append(.meta(name: contextMetaName, value: context.encoded())) }
        let keys = batch.keys.map(\.0)
        writer.submit(writes) { [self] result in committed(upTo: batch.sequence, keys: keys, context: batch.context != nil, result) }
    }

    /// A commit finished (on the writer's thread): acknowledges the writes it held, or keeps its
    /// keys for the next one.
    private func committed(upTo sequence: UInt64, keys: [Key], context: Bool, _ result: Result<Void, StorageError>) {
        var failure: StoreError?
        if case let .failure(error) = result { failure = .notPersisted("\(error)") }
        let done = core.withLock { core -> [(sequence: UInt64, continuation: CheckedContinuation<Result<Void, StoreError>, Never>)] in
            core.committing = false
            if let failure {
                // Written again by the next commit (a full disk may clear); these writes fail now.
                core.unpersisted.formUnion(keys)
                core.unpersistedContext = core.unpersistedContext || context
                core.lastFailure = "\(failure)"
            } else {
                core.durableUpTo = max(core.durableUpTo, sequence)
                core.lastFailure = nil
            }
            let count = core.durableWaiters.prefix { $0.sequence <= sequence }.count
            let done = Array(core.durableWaiters.prefix(count))
            core.durableWaiters.removeFirst(count)
            return done
        }
        if let failure {
            logger.error("could not persist \(keys.count) keys: \(failure)")
            for waiter in done { waiter.continuation.resume(returning: .failure(failure)) }
        } else {
            for waiter in done { waiter.continuation.resume(returning: .success(())) }
        }
        commitIfIdle()
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
        core.withLock { $0.instance.peerUp(peer.uid) }
        flush()
    }

    func linkLost(_ peer: PeerInfo) {
        loop.preconditionInLoop()
        addressOf[peer.uid] = nil
        snapshots[peer.uid] = nil
        core.withLock { $0.instance.peerDown(peer.uid) }
    }

    /// A replication frame from a peer. One that does not decode is logged and dropped whole.
    func received(_ type: MessageType, payload: UnsafeRawBufferPointer, from peer: PeerInfo) {
        loop.preconditionInLoop()
        guard let kind = Self.kind(of: type) else { return }
        let outcome: Result<Void, WireError> = core.withLock { core in
            guard !core.stopped else { return .success(()) }
            defer { core.absorbChanges() }
            do throws(WireError) {
                try core.instance.receive(kind, payload: payload, from: peer.uid, now: DeadlineTimer.now)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case let .failure(error) = outcome {
            logger.warning("dropped a malformed \(type) from \(peer.name) (\(peer.uid)): \(error)")
            return
        }
        afterChange()
    }

    private func rearm() {
        guard !loopStopped else { return }
        let deadline = core.withLock { $0.instance.nextDeadline }
        timer.arm(for: deadline, on: loop) { [weak self] in
            guard let self else { return }
            self.timer.fired()
            self.core.withLock { core in
                core.instance.tick(now: DeadlineTimer.now)
                core.absorbChanges()
            }
            self.afterChange()
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
        for waiter in applied { waiter.resume(returning: false) }
        commitIfIdle()
    }

    /// Whether a commit is under way or changes wait for one.
    var hasPendingCommits: Bool {
        core.withLock { $0.committing || !$0.unpersisted.isEmpty || $0.unpersistedContext }
    }

    /// Commits what a finished commit left pending (after `finish`, until nothing is).
    func commitPending() { commitIfIdle() }

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
