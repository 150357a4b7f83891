import CLibUV
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A libuv event loop running on a thread of its own.
///
/// Ownership rules, in the manner of swift-nio's event loops:
/// - every libuv handle of this loop (timers, sockets, connections) is created, used and closed on
///   the loop's thread only; such objects check this on entry;
/// - other threads hand work to the loop with `execute(_:)`, by awaiting an actor pinned to it
///   (the loop is a `SerialExecutor`), or by running a task that prefers it (it is a
///   `TaskExecutor` too); those submissions go through one mutex-guarded queue and one coalesced
///   `uv_async_send`, however many arrive between two wake-ups;
/// - work submitted from the loop's own thread takes a lock-free local queue, drained before the loop
///   blocks again;
/// - before the loop blocks for I/O it flushes every connection that queued frames in this iteration,
///   so frames written in one burst leave in one `uv_write`.
///
/// `shutdown()` closes every handle, lets the loop run out, joins the thread and reports a handle that
/// was left open as an error.
///
/// The loop's thread blocks SIGPIPE: writing to a connection its peer has reset fails that
/// connection (`EPIPE`) instead of ending the process.
public final class EventLoop: @unchecked Sendable {
    // Safety of @unchecked Sendable: `remote` is a LockedValue; `threadID` is written once before `init`
    // returns (the creator waits on `started`) and only read afterwards; every other stored property
    // is touched on the loop thread only, which `preconditionInLoop()` guards at every entry point.

    /// A name for logs and thread names.
    public let name: String

    let uvLoop: UnsafeMutablePointer<uv_loop_t>
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let beforeBlock: UnsafeMutablePointer<uv_prepare_t>
    private var thread: pthread_t? = nil
    /// The loop thread's id, written by that thread before `init` returns; behind a pointer so the
    /// check on every handle call costs no exclusivity bookkeeping.
    private let threadID: UnsafeMutablePointer<pthread_t>
    private let started = DispatchSemaphore(value: 0)
    /// Where executor jobs run once the loop has shut down (see `enqueue`).
    private let afterShutdown: DispatchQueue

    private struct RemoteQueue {
        var jobs: [LoopJob] = []
        var wakeupPending = false
        var shuttingDown = false
        /// Set just before the wake-up handle closes; later submissions are dropped, but for
        /// executor jobs (see `enqueue`).
        var wakeupClosed = false
        /// Executor jobs that came after `wakeupClosed` while the loop's thread may still run
        /// jobs; handed to `afterShutdown`, in order, once that thread has ended.
        var parked: [UnownedJob] = []
        /// Set once the loop's thread has been joined: executor jobs go to `afterShutdown`.
        var threadJoined = false
    }
    private let remote = LockedValue(RemoteQueue())

    private var localJobs: [LoopJob] = []
    private var spareJobs: [LoopJob] = []
    private var flushQueue: [any BeforeBlockFlushing] = []
    /// Handles this loop owns: each stays alive until its libuv close callback has run.
    private var resources: [ObjectIdentifier: any LoopResource] = [:]
    private var closeResult: Int32 = 0

    /// Starts a loop and its thread.
    public init(name: String = "chorus-loop") throws(LoopError) {
        self.name = name
        afterShutdown = DispatchQueue(label: "\(name).after-shutdown")
        uvLoop = .allocate(capacity: 1)
        wakeup = .allocate(capacity: 1)
        beforeBlock = .allocate(capacity: 1)
        threadID = .allocate(capacity: 1)
        threadID.initialize(to: pthread_t())
        let initStatus = uv_loop_init(uvLoop)
        if initStatus < 0 {
            uvLoop.deallocate(); wakeup.deallocate(); beforeBlock.deallocate(); threadID.deallocate()
            throw LoopError(code: initStatus, operation: "uv_loop_init")
        }
        uvLoop.pointee.data = Unmanaged.passUnretained(self).toOpaque()

        _ = uv_async_init(uvLoop, wakeup) { handle in
            EventLoop.from(handle!.pointee.loop).runRemoteJobs()
        }
        _ = uv_prepare_init(uvLoop, beforeBlock)
        _ = uv_prepare_start(beforeBlock) { handle in
            EventLoop.from(handle!.pointee.loop).runBeforeBlock()
        }

        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
            loop.threadMain()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = tid
        started.wait()
    }

    deinit {
        threadID.deallocate()
    }

    static func from(_ uv: UnsafeMutablePointer<uv_loop_t>?) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(uv!.pointee.data).takeUnretainedValue()
    }

    private func threadMain() {
        threadID.pointee = pthread_self()
        chorus_set_thread_name(name)
        // A write to a socket the peer has reset raises SIGPIPE in the writing thread, whose
        // default action ends the process; libuv leaves it to the application. Blocked on this
        // thread only, the write fails with EPIPE instead, which closes just that connection.
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipe, nil)
        started.signal()
        uv_run(uvLoop, UV_RUN_DEFAULT)
        // Close callbacks may have queued local work after the before-block handle closed.
        while !localJobs.isEmpty {
            runBeforeBlock()
            uv_run(uvLoop, UV_RUN_NOWAIT)
        }
        closeResult = uv_loop_close(uvLoop)
    }

    // MARK: Thread checks

    /// Whether the caller runs on this loop's thread.
    public var inLoop: Bool {
        pthread_equal(pthread_self(), threadID.pointee) != 0
    }

    /// Traps when called off the loop's thread: handles of a loop are the loop's alone.
    @inlinable
    public func preconditionInLoop(_ file: StaticString = #fileID, line: UInt = #line) {
        precondition(inLoop, "called off the event loop's thread", file: file, line: line)
    }

    // MARK: Submitting work

    /// Runs `work` on the loop's thread, soon. From the loop's thread it runs after the current
    /// callback, before the loop next blocks.
    /// Returns false, and drops `work`, once the loop has shut down.
    @discardableResult
    public func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
        submit(.closure(work))
    }

    /// Runs `work` on the loop and returns its result to an async caller. On a loop that has
    /// shut down, `work` does not run and this throws `ESHUTDOWN`.
    public func submit<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = submit(.closure {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            })
            if !accepted {
                continuation.resume(throwing: LoopError(name: "ESHUTDOWN", message: "the loop has shut down",
                                                        operation: "submit to \(name)"))
            }
        }
    }

    /// Queues `job`; false (and the job dropped) once the loop has shut down.
    @discardableResult
    func submit(_ job: LoopJob) -> Bool {
        if inLoop {
            localJobs.append(job)
            return true
        }
        // The wake-up is sent under the lock: once `closeEverything` has set `wakeupClosed` (under
        // the same lock), nobody touches the async handle it is about to close and free.
        return remote.withLock { queue -> Bool in
            if queue.wakeupClosed { return false }
            queue.jobs.append(job)
            if !queue.wakeupPending {
                queue.wakeupPending = true
                uv_async_send(wakeup)
            }
            return true
        }
    }

    /// How many times other threads woke the loop; submissions between two wake-ups share one.
    public private(set) var wakeupCount = 0

    private func runRemoteJobs() {
        wakeupCount += 1
        var batch = spareJobs
        remote.withLock { queue in
            swap(&batch, &queue.jobs)
            queue.wakeupPending = false
        }
        for job in batch { run(job) }
        batch.removeAll(keepingCapacity: true)
        spareJobs = batch
    }

    private func run(_ job: LoopJob) {
        switch job {
        case .closure(let work): work()
        case .executor(let job):
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        }
    }

    /// Runs local jobs, then flushes what connections queued, right before the loop blocks for I/O.
    private func runBeforeBlock() {
        while !localJobs.isEmpty {
            let batch = localJobs
            localJobs.removeAll(keepingCapacity: true)
            for job in batch { run(job) }
        }
        if !flushQueue.isEmpty {
            let batch = flushQueue
            flushQueue.removeAll(keepingCapacity: true)
            for participant in batch { participant.flushBeforeBlock() }
        }
    }

    /// Asks the loop to call `participant.flushBeforeBlock()` once, before it next blocks for I/O.
    func scheduleFlush(_ participant: any BeforeBlockFlushing) {
        flushQueue.append(participant)
    }

    // MARK: Time

    /// The loop's cached monotonic clock, in milliseconds (libuv's `uv_now`).
    public var nowMillis: UInt64 { uv_now(uvLoop) }

    /// A monotonic clock in nanoseconds (libuv's `uv_hrtime`), the same across processes of one host.
    public static func monotonicNanos() -> UInt64 { uv_hrtime() }

    // MARK: Resources

    func register(_ resource: any LoopResource) {
        resources[ObjectIdentifier(resource)] = resource
    }

    func unregister(_ resource: any LoopResource) {
        resources.removeValue(forKey: ObjectIdentifier(resource))
    }

    /// How many handles the loop currently owns (timers, sockets, connections, listeners).
    public var openResourceCount: Int {
        preconditionInLoop()
        return resources.count
    }

    // MARK: Shutdown

    /// Closes every handle of this loop, lets it run out, and joins its thread.
    ///
    /// Throws `EBUSY` if libuv still had a handle open when the loop ended (a leak).
    /// Calling it twice is harmless; calling it from the loop's own thread is a programming error.
    public func shutdown() throws(LoopError) {
        precondition(!inLoop, "EventLoop.shutdown() called from its own thread")
        let first = remote.withLock { queue -> Bool in
            if queue.shuttingDown { return false }
            queue.shuttingDown = true
            return true
        }
        guard first, let thread else { return }
        execute { [self] in closeEverything() }
        pthread_join(thread, nil)
        self.thread = nil
        threadID.pointee = pthread_t()
        remote.withLock { queue in
            queue.threadJoined = true
            // Under the lock, so that they run before any job that comes later.
            for job in queue.parked { runAfterShutdown(job) }
            queue.parked = []
        }
        let status = closeResult
        uvLoop.deallocate()
        wakeup.deallocate()
        beforeBlock.deallocate()
        if status < 0 { throw LoopError(code: status, operation: "uv_loop_close (a handle was left open)") }
    }

    private func closeEverything() {
        runBeforeBlock()
        for resource in Array(resources.values) { resource.close() }
        remote.withLock { $0.wakeupClosed = true }
        runRemoteJobs()
        uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(beforeBlock)), nil)
        uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(wakeup)), nil)
    }
}

/// A unit of work for a loop: a closure or a job of an actor pinned to the loop.
enum LoopJob {
    case closure(@Sendable () -> Void)
    case executor(UnownedJob)
}

/// A handle owned by a loop. The loop retains it from creation until libuv's close callback.
protocol LoopResource: AnyObject {
    /// Starts closing the handle; idempotent.
    func close()
}

/// Something that batches output during a loop iteration and writes it just before the loop blocks.
protocol BeforeBlockFlushing: AnyObject {
    func flushBeforeBlock()
}

// MARK: - Executors

extension EventLoop: SerialExecutor, TaskExecutor {
    /// Actor jobs, and jobs of tasks that prefer this loop (`withTaskExecutorPreference`), run on the
    /// loop's thread: an actor whose `unownedExecutor` is this loop may use the loop's handles
    /// directly, and a task on the loop hands work to it without waking another thread.
    ///
    /// Once the loop has shut down, its jobs still run, one at a time on a queue of their own
    /// (isolated to this executor as before, with no loop and no handles): a task or actor pinned
    /// to a loop that stopped under it finishes instead of hanging.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if submit(.executor(job)) { return }
        // The loop is closing. Its thread may still be running jobs: park this one until the
        // thread has ended, so that no two jobs of this executor ever run at once.
        remote.withLock { queue in
            if queue.threadJoined { runAfterShutdown(job) } else { queue.parked.append(job) }
        }
    }

    /// Runs a job that came after shutdown on `afterShutdown`, isolated to this executor.
    private func runAfterShutdown(_ job: UnownedJob) {
        let serial = asUnownedSerialExecutor(), task = asUnownedTaskExecutor()
        afterShutdown.async { job.runSynchronously(isolatedTo: serial, taskExecutor: task) }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func checkIsolated() {
        preconditionInLoop()
    }
}
