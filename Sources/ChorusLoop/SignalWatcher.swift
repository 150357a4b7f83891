import CLibUV

/// Watches for a POSIX signal on a loop (libuv's `uv_signal_t`): when the process receives it, the
/// callback runs on the loop's thread, whichever thread the kernel delivered it to. While a
/// watcher is open the signal's default action (for SIGTERM and SIGINT: end the process) is off.
public final class SignalWatcher: LoopHandle, @unchecked Sendable {
    private var callback: ((Int32) -> Void)?

    /// Starts watching `signal` (e.g. `SIGTERM`); must be called on the loop.
    public init(on loop: EventLoop, signal: Int32, _ callback: @escaping (Int32) -> Void) throws(LoopError) {
        self.callback = callback
        super.init(loop: loop, byteCount: MemoryLayout<uv_signal_t>.size)
        let handle = raw.assumingMemoryBound(to: uv_signal_t.self)
        let initialised = uv_signal_init(loop.uvLoop, handle)
        guard initialised == 0 else {
            abandon()
            throw LoopError(code: initialised, operation: "uv_signal_init")
        }
        adopt()
        let started = uv_signal_start(handle, { handle, signal in
            let watcher = LoopHandle.object(handle, as: SignalWatcher.self)
            guard !watcher.isClosed else { return }
            watcher.callback?(signal)
        }, signal)
        guard started == 0 else {
            close()
            throw LoopError(code: started, operation: "uv_signal_start")
        }
    }

    /// Stops watching; the signal's default action is back once no watcher of it is open. Idempotent.
    public func cancel() { close() }

    override func willClose() {
        uv_signal_stop(raw.assumingMemoryBound(to: uv_signal_t.self))
        callback = nil
    }
}
