import ChorusCore

/// The timer that turns a suspect into a dead member, with Lifeguard's dynamic timeout.
///
/// It starts at `max` and shrinks towards `min` as independent members confirm the suspicion,
/// reaching `min` after `k` confirmations (Lifeguard §4.2):
/// `timeout(n) = max(min, max - (max - min) * log(n + 1) / log(k + 1))`.
/// The member that raised the suspicion we heard first is not counted as a confirmation, and
/// nobody is counted twice. A suspicion nobody confirms (a lone, possibly slow, accuser) waits the
/// longest; one the cluster agrees on ends quickly.
public struct Suspicion: Sendable, Equatable {
    /// Confirmations wanted to reach `min` (memberlist: SuspicionMult - 2).
    public let k: Int
    public let min: Duration
    public let max: Duration
    /// When the suspicion started here.
    public let start: ProtocolTime
    public private(set) var confirmations = 0
    /// Set once the suspicion has expired unconfirmed and been announced again (see
    /// `SWIMInstance`'s recheck rule): the end of that last window.
    public private(set) var recheckUntil: ProtocolTime?
    private var heardFrom: Set<String>

    public init(start: ProtocolTime, suspectedBy accuser: String, k: Int, min: Duration, max: Duration) {
        self.start = start
        self.k = Swift.max(k, 0)
        self.min = min
        self.max = Swift.max(max, min)
        self.heardFrom = [accuser]
    }

    /// Counts `member` as an independent confirmation. Returns false for a repeat, or when `k`
    /// confirmations are already in (the timeout is at its minimum).
    public mutating func confirm(from member: String) -> Bool {
        guard confirmations < k, !heardFrom.contains(member) else { return false }
        heardFrom.insert(member)
        confirmations += 1
        return true
    }

    /// The whole timeout for the confirmations so far.
    public var timeout: Duration {
        guard k > 0, confirmations > 0 else { return k == 0 ? min : max }
        let fraction = log(Double(confirmations) + 1) / log(Double(k) + 1)
        let span = Double((max - min).nanoseconds)
        let value = Duration.nanoseconds(max.nanoseconds - Int64(fraction * span))
        return value < min ? min : value
    }

    /// When the suspect is to be declared dead, unless refuted first.
    public var deadline: ProtocolTime { recheckUntil ?? start + timeout }

    /// Whether the suspicion expired with fewer than `k` independent confirmations.
    public var isUnconfirmed: Bool { confirmations < k }

    /// Gives the suspicion one last window, ending at `end`.
    public mutating func recheck(until end: ProtocolTime) {
        recheckUntil = end
    }

    /// The bounds for a cluster of `clusterSize` members (memberlist's rule):
    /// `min = suspicionMultiplier * max(1, log10(n)) * probeInterval`, `max = maxMultiplier * min`.
    public static func bounds(clusterSize: Int, probeInterval: Duration, suspicionMultiplier: Int,
                              maxTimeoutMultiplier: Int) -> (min: Duration, max: Duration) {
        let nodeScale = Swift.max(1, log10(Double(Swift.max(clusterSize, 1))))
        let minimum = probeInterval.scaled(by: Double(suspicionMultiplier) * nodeScale)
        return (minimum, minimum * maxTimeoutMultiplier)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
