import ChorusCore
import ChorusLoop

/// The one timer a shell keeps for its pure core: armed at the core's next deadline after every
/// input, moved when the deadline moves, left alone when it did not (re-arming a libuv timer per
/// input would cost more than the input).
struct DeadlineTimer {
    private var timer: LoopTimer?
    private var armedFor: ProtocolTime?

    /// Now, on the clock the cores read.
    static var now: ProtocolTime { ProtocolTime(nanos: EventLoop.monotonicNanos()) }

    /// Arms for `deadline` on `loop` (at once when it has passed); `fire` runs on the loop then.
    /// The shell calls `fired()` first thing in `fire`.
    mutating func arm(for deadline: ProtocolTime, on loop: EventLoop, _ fire: @escaping () -> Void) {
        if timer != nil, armedFor == deadline { return }
        timer?.cancel()
        let now = Self.now
        let millis = deadline > now ? (deadline.nanos - now.nanos + 999_999) / 1_000_000 : 0
        armedFor = deadline
        timer = loop.scheduleTimer(afterMillis: millis) { _ in fire() }
    }

    /// The timer went off: it is no longer armed.
    mutating func fired() {
        timer = nil
        armedFor = nil
    }

    mutating func cancel() {
        timer?.cancel()
        fired()
    }
}
