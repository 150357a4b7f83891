/// A point on a monotonic clock, in nanoseconds, as pure protocol cores see time.
///
/// Cores never read a clock: the shell passes `uv_hrtime()` in, the simulator passes its virtual
/// time in (`VirtualTime` is this type). Only differences between two instants mean anything.
public struct ProtocolTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanos: UInt64

    @inlinable public init(nanos: UInt64) { self.nanos = nanos }

    public static let zero = ProtocolTime(nanos: 0)

    @inlinable public static func micros(_ value: UInt64) -> ProtocolTime { ProtocolTime(nanos: value * 1_000) }
    @inlinable public static func millis(_ value: UInt64) -> ProtocolTime { ProtocolTime(nanos: value * 1_000_000) }
    @inlinable public static func seconds(_ value: UInt64) -> ProtocolTime { ProtocolTime(nanos: value * 1_000_000_000) }

    /// Whole microseconds and milliseconds since the clock's zero.
    @inlinable public var micros: UInt64 { nanos / 1_000 }
    @inlinable public var millis: UInt64 { nanos / 1_000_000 }

    @inlinable public static func < (lhs: ProtocolTime, rhs: ProtocolTime) -> Bool { lhs.nanos < rhs.nanos }

    /// The instant `duration` later (a negative duration goes back, stopping at zero).
    @inlinable public static func + (lhs: ProtocolTime, rhs: Duration) -> ProtocolTime {
        let delta = rhs.nanoseconds
        if delta >= 0 { return ProtocolTime(nanos: lhs.nanos &+ UInt64(delta)) }
        let back = UInt64(-delta)
        return ProtocolTime(nanos: lhs.nanos > back ? lhs.nanos - back : 0)
    }

    /// The instant `duration` earlier (stopping at zero).
    @inlinable public static func - (lhs: ProtocolTime, rhs: Duration) -> ProtocolTime { lhs + (.zero - rhs) }

    @inlinable public static func += (lhs: inout ProtocolTime, rhs: Duration) { lhs = lhs + rhs }

    /// The time from `rhs` to `lhs` (negative when `rhs` is later).
    @inlinable public static func - (lhs: ProtocolTime, rhs: ProtocolTime) -> Duration {
        lhs.nanos >= rhs.nanos ? .nanoseconds(Int64(lhs.nanos - rhs.nanos)) : .nanoseconds(-Int64(rhs.nanos - lhs.nanos))
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
    /// The whole duration in nanoseconds (saturating far outside ±292 years).
    @inlinable public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }

    /// This duration times a real factor (for scaling timeouts).
    public func scaled(by factor: Double) -> Duration {
        .nanoseconds(Int64((Double(nanoseconds) * factor).rounded()))
    }
}
