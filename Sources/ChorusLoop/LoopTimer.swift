import CLibUV

/// A one-shot or repeating timer on a loop (libuv's `uv_timer_t`); the callback runs on the loop.
public final class LoopTimer: LoopHandle, @unchecked Sendable {
    private var callback: ((LoopTimer) -> Void)?
    private let repeating: Bool

    var uvTimer: UnsafeMutablePointer<uv_timer_t> { raw.assumingMemoryBound(to: uv_timer_t.self) }

    /// Starts a timer that fires after `delayMillis`, then every `repeatMillis` if given.
    /// A repeating timer runs until `cancel()`; a one-shot timer closes itself after firing.
    public init(on loop: EventLoop, afterMillis delayMillis: UInt64, repeatMillis: UInt64? = nil,
                _ callback: @escaping (LoopTimer) -> Void) {
        self.callback = callback
        self.repeating = repeatMillis != nil
        super.init(loop: loop, byteCount: MemoryLayout<uv_timer_t>.size)
        _ = uv_timer_init(loop.uvLoop, uvTimer)
        adopt()
        _ = uv_timer_start(uvTimer, { handle in
            let timer = LoopHandle.object(handle, as: LoopTimer.self)
            timer.fire()
        }, delayMillis, repeatMillis ?? 0)
    }

    private func fire() {
        guard !isClosed, let callback else { return }
        callback(self)
        if !repeating { cancel() }
    }

    /// Stops the timer and releases it. Idempotent.
    public func cancel() { close() }

    override func willClose() {
        uv_timer_stop(uvTimer)
        callback = nil
    }
}

extension EventLoop {
    /// Schedules `callback` on this loop after `millis` (must be called on the loop).
    @discardableResult
    public func scheduleTimer(afterMillis millis: UInt64, repeatMillis: UInt64? = nil,
                              _ callback: @escaping (LoopTimer) -> Void) -> LoopTimer {
        LoopTimer(on: self, afterMillis: millis, repeatMillis: repeatMillis, callback)
    }
}
