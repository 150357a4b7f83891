import ChorusCore
/// Virtual time in nanoseconds since the simulation's start.
///
/// The simulation's clock is the only clock a simulated node sees: it moves only when the simulation
/// takes the next event from its queue, so a run never depends on how fast the host machine is.
public struct VirtualTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the start of the simulation.
    public var nanos: UInt64

    /// The time `nanos` nanoseconds after the start.
    @inlinable public init(nanos: UInt64) { self.nanos = nanos }

    /// The start of the simulation.
    public static let zero = VirtualTime(nanos: 0)

    /// `us` microseconds after the start.
    @inlinable public static func micros(_ us: UInt64) -> VirtualTime { VirtualTime(nanos: us * 1_000) }
    /// `ms` milliseconds after the start.
    @inlinable public static func millis(_ ms: UInt64) -> VirtualTime { VirtualTime(nanos: ms * 1_000_000) }
    /// `s` seconds after the start.
    @inlinable public static func seconds(_ s: UInt64) -> VirtualTime { VirtualTime(nanos: s * 1_000_000_000) }

    /// Whole microseconds since the start.
    @inlinable public var micros: UInt64 { nanos / 1_000 }
    /// Whole milliseconds since the start.
    @inlinable public var millis: UInt64 { nanos / 1_000_000 }

    @inlinable public static func < (lhs: VirtualTime, rhs: VirtualTime) -> Bool { lhs.nanos < rhs.nanos }

    /// The time `rhs` later (or earlier, for a negative duration; the result must not be before the start).
    @inlinable public static func + (lhs: VirtualTime, rhs: Duration) -> VirtualTime {
        let delta = rhs.simulationNanos
        if delta >= 0 { return VirtualTime(nanos: lhs.nanos + UInt64(delta)) }
        precondition(UInt64(-delta) <= lhs.nanos, "VirtualTime \(lhs) + \(rhs) is before the start")
        return VirtualTime(nanos: lhs.nanos - UInt64(-delta))
    }

    /// The time `rhs` earlier (the result must not be before the start).
    @inlinable public static func - (lhs: VirtualTime, rhs: Duration) -> VirtualTime { lhs + (.zero - rhs) }

    @inlinable public static func += (lhs: inout VirtualTime, rhs: Duration) { lhs = lhs + rhs }

    /// The duration from `rhs` to `lhs` (negative when `lhs` is earlier).
    @inlinable public static func - (lhs: VirtualTime, rhs: VirtualTime) -> Duration {
        lhs.nanos >= rhs.nanos
            ? .nanoseconds(Int64(lhs.nanos - rhs.nanos))
            : .zero - .nanoseconds(Int64(rhs.nanos - lhs.nanos))
    }

    /// Seconds with up to nine decimals and no trailing zeros, e.g. `1.5s`, `0.00012s`, `3s`.
    public var description: String {
        let seconds = nanos / 1_000_000_000
        let fraction = nanos % 1_000_000_000
        if fraction == 0 { return "\(seconds)s" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(seconds).\(digits)s"
    }
}

extension Duration {
    /// Whole nanoseconds (rounded toward zero), the simulation's unit of time.
    @inlinable var simulationNanos: Int64 {
        let parts = components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }

    /// A non-negative duration in whole nanoseconds; a negative one is a programming error.
    @inlinable func simulationNanosNonNegative(_ what: @autoclosure () -> String) -> UInt64 {
        let value = simulationNanos
        precondition(value >= 0, "\(what()) must not be negative: \(self)")
        return UInt64(value)
    }
}
