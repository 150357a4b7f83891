import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Commits a `NodeStorage`'s writes in groups, on a thread of its own.
///
/// Thread ownership: `init` takes the storage over (`sending`); from then on it is used on the
/// writer's thread only, and closed there by `shutdown()`. `submit` may be called from any thread;
/// it appends under a lock and wakes the writer, and never touches SQLite.
///
/// Group commit: whatever was submitted while the writer was busy goes into its next transaction,
/// together, in submission order. Completions run on the writer's thread once that transaction has
/// committed (durable as `NodeStorage.durability` says), in submission order, each exactly once; they
/// should be short, since the next transaction waits for them. When a transaction fails, every
/// completion of its group gets the error and none of its writes is kept; later submissions are
/// tried in later transactions as usual (a full disk may clear). A group fails as a whole, so one
/// write SQLite rejects (a blob over SQLite's size limit) fails the submissions grouped with it.
///
/// Call `shutdown()` before dropping the writer: its thread keeps it alive until then.
public final class StorageWriter: @unchecked Sendable {
    // Safety of @unchecked Sendable: `shared` is only touched with `mutex` held; `storage` only on
    // the writer's thread (it is handed over before the thread starts, and `shutdown` joins the
    // thread before anything else could look at it); `thread` is written in `init` before the
    // writer can be shared, and only read afterwards; the pthread objects are thread-safe.

    private struct Submission {
        var writes: [StorageWrite]
        var completion: @Sendable (Result<Void, StorageError>) -> Void
    }
    private struct Shared {
        var pending: [Submission] = []
        /// Submissions accepted so far, and those whose completion has run.
        var submitted: UInt64 = 0
        var finished: UInt64 = 0
        var committedTransactions = 0
        var failedTransactions = 0
        var stopping = false
        var stopped = false
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Signalled when `pending` becomes non-empty, and at shutdown.
    private let workAvailable: UnsafeMutablePointer<pthread_cond_t>
    /// Broadcast when completions have run, and when the writer has stopped.
    private let progressed: UnsafeMutablePointer<pthread_cond_t>
    private var shared = Shared()
    private let storage: NodeStorage
    private var thread = pthread_t()

    /// Starts a writer thread that owns `storage` from now on.
    public init(storage: sending NodeStorage) {
        self.storage = storage
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        workAvailable = .allocate(capacity: 1)
        workAvailable.initialize(to: pthread_cond_t())
        progressed = .allocate(capacity: 1)
        progressed.initialize(to: pthread_cond_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        precondition(pthread_cond_init(workAvailable, nil) == 0, "pthread_cond_init failed")
        precondition(pthread_cond_init(progressed, nil) == 0, "pthread_cond_init failed")

        // The thread holds the writer until it ends.
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let status = pthread_create(&tid, nil, { argument in
            let writer = Unmanaged<StorageWriter>.fromOpaque(argument!).takeRetainedValue()
            writer.run()
            return nil
        }, box)
        precondition(status == 0, "pthread_create failed: \(status)")
        thread = tid
    }

    deinit {
        pthread_cond_destroy(progressed)
        pthread_cond_destroy(workAvailable)
        pthread_mutex_destroy(mutex)
        progressed.deallocate()
        workAvailable.deallocate()
        mutex.deallocate()
    }

    @inline(__always)
    private func withLock<T>(_ body: (inout Shared) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&shared)
    }

    private var onWriterThread: Bool {
        pthread_equal(pthread_self(), thread) != 0
    }

    // MARK: Submitting

    /// Queues `writes` (applied in order, all or none) for the next transaction; `completion` runs on
    /// the writer's thread once it committed or failed. Callable from any thread, the writer's own
    /// included (from a completion). After `shutdown()` began, `completion` gets `.closed` at once,
    /// on the caller's thread.
    public func submit(_ writes: [StorageWrite], completion: @escaping @Sendable (Result<Void, StorageError>) -> Void) {
        pthread_mutex_lock(mutex)
        if shared.stopping {
            pthread_mutex_unlock(mutex)
            completion(.failure(.closed))
            return
        }
        shared.pending.append(Submission(writes: writes, completion: completion))
        shared.submitted += 1
        // The writer only waits when nothing is pending: wake it on the first submission.
        let wake = shared.pending.count == 1
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(workAvailable) }
    }

    /// Returns once every submission made before the call has been committed (or has failed) and
    /// its completion has run. Blocks the calling thread; not callable from a completion.
    public func flush() {
        precondition(!onWriterThread, "StorageWriter.flush() called on the writer's thread (from a completion)")
        pthread_mutex_lock(mutex)
        let target = shared.submitted
        while shared.finished < target && !shared.stopped { pthread_cond_wait(progressed, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Returns once every submission made before the call has been committed (or has failed) and
    /// its completion has run, without blocking a thread.
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            submit([]) { _ in continuation.resume() }
        }
    }

    /// Commits what is pending, closes the storage and joins the writer's thread. Later submissions
    /// fail with `.closed`. Calling it again (from any thread but the writer's) waits for the first.
    public func shutdown() {
        precondition(!onWriterThread, "StorageWriter.shutdown() called on the writer's thread (from a completion)")
        let first = withLock { shared -> Bool in
            defer { shared.stopping = true }
            return !shared.stopping
        }
        pthread_cond_signal(workAvailable)
        if first {
            pthread_join(thread, nil)
        } else {
            pthread_mutex_lock(mutex)
            while !shared.stopped { pthread_cond_wait(progressed, mutex) }
            pthread_mutex_unlock(mutex)
        }
    }

    // MARK: Figures

    /// Transactions committed so far (fewer than the submissions when group commit merged them).
    public var committedTransactions: Int { withLock { $0.committedTransactions } }
    /// Transactions that failed so far (each failed every submission of its group).
    public var failedTransactions: Int { withLock { $0.failedTransactions } }

    // MARK: The writer's thread

    private func run() {
        chorus_storage_set_thread_name("chorus-storage")
        var group: [Submission] = []
        while true {
            pthread_mutex_lock(mutex)
            while shared.pending.isEmpty && !shared.stopping { pthread_cond_wait(workAvailable, mutex) }
            if shared.pending.isEmpty {
                pthread_mutex_unlock(mutex)
                break
            }
            swap(&group, &shared.pending)
            pthread_mutex_unlock(mutex)

            var result: Result<Void, StorageError> = .success(())
            if group.contains(where: { !$0.writes.isEmpty }) {
                do throws(StorageError) {
                    try storage.commit(batches: group.lazy.map(\.writes))
                    withLock { $0.committedTransactions += 1 }
                } catch {
                    result = .failure(error)
                    withLock { $0.failedTransactions += 1 }
                }
            }
            for submission in group { submission.completion(result) }
            let count = UInt64(group.count)
            group.removeAll(keepingCapacity: true)
            withLock { $0.finished += count }
            pthread_cond_broadcast(progressed)
        }
        storage.close()
        withLock { $0.stopped = true }
        pthread_cond_broadcast(progressed)
    }
}
