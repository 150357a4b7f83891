/// A point on a monotonic clock, in nanoseconds, as pure protocol cores see time.
///
/// Cores never read a clock: the shell passes `uv_hrtime()` in, the simulator passes its virtual
/// time in. Only differences between two instants mean anything.
public struct ProtocolTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanos: UInt64

    public init(nanos: UInt64) { self.nanos = nanos }

    public static let zero = ProtocolTime(nanos: 0)

    public static func millis(_ value: UInt64) -> ProtocolTime { ProtocolTime(nanos: value * 1_000_000) }

    public static func < (lhs: ProtocolTime, rhs: ProtocolTime) -> Bool { lhs.nanos < rhs.nanos }

    /// The instant `duration` later (a negative duration goes back, stopping at zero).
    public static func + (lhs: ProtocolTime, rhs: Duration) -> ProtocolTime {
        let delta = rhs.nanoseconds
        if delta >= 0 { return ProtocolTime(nanos: lhs.nanos &+ UInt64(delta)) }
        let back = UInt64(-delta)
        return ProtocolTime(nanos: lhs.nanos > back ? lhs.nanos - back : 0)
    }

    /// The time from `rhs` to `lhs` (negative when `rhs` is later).
    public static func - (lhs: ProtocolTime, rhs: ProtocolTime) -> Duration {
        lhs.nanos >= rhs.nanos ? .nanoseconds(Int64(lhs.nanos - rhs.nanos)) : .nanoseconds(-Int64(rhs.nanos - lhs.nanos))
    }

    public var description: String {
        let ms = Double(nanos) / 1e6
        return ms < 10_000 ? "\(ms)ms" : "\(ms / 1000)s"
    }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating far outside ±292 years).
    public var nanoseconds: Int64 {
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
