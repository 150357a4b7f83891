import ChorusLoop
import ChorusReplication
import ChorusStorage
import ChorusStores
import Logging
import Synchronization

/// The durable stores of a node: one SQLite file in its data_dir, read whole into memory at start,
/// then two keyspaces kept in memory and committed in batches by one storage writer:
/// - `replicated` (keyspace 1): every store replicated to the whole cluster;
/// - `local` (keyspace 2): stores kept on this node only (the `durable` process status adapter).
///
/// A data_dir that holds another cluster's or another node's file, or a damaged one, is refused at
/// start with a clear error, and left as it was.
final class NodeStores: Sendable {
    static let replicatedKeyspace: Keyspace = 1
    static let localKeyspace: Keyspace = 2

    struct Opened: Sendable {
        let replicated: StoreShell
        let local: StoreShell
        let writer: StorageWriter
        /// Keys and time the restore took, for the start log and metrics.
        let restoredKeys: Int
        let restoreSeconds: Double
    }

    private enum Phase: Sendable {
        case notOpened
        case opened(Opened)
        case closed
    }

    private let phase = Mutex<Phase>(.notOpened)

    /// The shells, once `open` succeeded; `nodeNotStarted` before, `nodeStopped` after `close`.
    func shells() throws(StoreError) -> Opened {
        switch phase.withLock({ $0 }) {
        case .notOpened: throw .nodeNotStarted
        case let .opened(opened): return opened
        case .closed: throw .nodeStopped
        }
    }

    /// Opens (or creates) the node's store file and restores both keyspaces.
    func open(settings: NodeSettings, origin: NodeUID, loop: EventLoop, links: PeerLinks, logger: Logger) throws {
        let started = EventLoop.monotonicNanos()
        let storage = try NodeStorage.open(directory: settings.dataDir,
                                           identity: StorageIdentity(cluster: settings.cluster, node: settings.name),
                                           durability: settings.storeDurability.storage)
        let replicatedState: (state: ReplicaState<StoreKey, StoreValue>, journaled: Int)
        let localState: (state: ReplicaState<StoreKey, StoreValue>, journaled: Int)
        do {
            replicatedState = try StoreShell.restore(from: storage, keyspace: Self.replicatedKeyspace, contextMetaName: "context.replicated")
            localState = try StoreShell.restore(from: storage, keyspace: Self.localKeyspace, contextMetaName: "context.local")
        } catch {
            storage.close()
            throw StoreError.corruptStore("\(storage.path): a saved row does not decode (\(error)); move the file away or point data_dir elsewhere")
        }
        // The scan filled SQLite's page cache with pages nothing will read again (reads come from
        // memory from now on): give them back, and the freed pieces of the restore with them.
        storage.releaseMemory()
        let writer = StorageWriter(storage: storage)
        let replicated = StoreShell(origin: origin, settings: settings.replication, restored: replicatedState.state, journaled: replicatedState.journaled, writer: writer,
                                    keyspace: Self.replicatedKeyspace, contextMetaName: "context.replicated",
                                    compactionRecords: settings.storeCompactionRecords, loop: loop, links: links, logger: logger)
        // The local keyspace is never linked to a peer: its log need hold almost nothing.
        var localSettings = settings.replication
        localSettings.logCapacity = 1
        let local = StoreShell(origin: origin, settings: localSettings, restored: localState.state, journaled: localState.journaled, writer: writer,
                               keyspace: Self.localKeyspace, contextMetaName: "context.local",
                               compactionRecords: settings.storeCompactionRecords, loop: loop, links: links, logger: logger)
        let seconds = Double(EventLoop.monotonicNanos() - started) / 1e9
        phase.withLock { $0 = .opened(Opened(replicated: replicated, local: local, writer: writer,
                                             restoredKeys: replicatedState.state.keyCount + localState.state.keyCount, restoreSeconds: seconds)) }
    }

    /// After the data loop stopped: the last commits, then the file is closed and the writes not
    /// committed fail with `nodeStopped`.
    func close() {
        let current = phase.withLock { phase -> Phase in
            defer { if case .opened = phase { phase = .closed } }
            return phase
        }
        guard case let .opened(opened) = current else { return }
        let shells = [opened.replicated, opened.local]
        for shell in shells { shell.finish() }
        // A few rounds: a commit that fails every time (a full disk) must not hold the stop forever.
        for _ in 0..<5 where shells.contains(where: \.hasPendingCommits) {
            opened.writer.flush()
            for shell in shells { shell.commitPending() }
        }
        opened.writer.shutdown()
        for shell in shells { shell.failWaiters() }
    }
}
