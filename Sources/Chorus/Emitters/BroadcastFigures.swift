/// What the emitter broadcasts of a node did since it started, plain and acknowledged. Counted on
/// the data loop, and with atomics on the broadcasters' threads for the plain local path; read at
/// scrape time (`ClusterNode.figures()`).
public struct BroadcastFigures: Sendable, Equatable {
    /// Events handed to a member of this node (in-process), and sent to a member of another node:
    /// a plain broadcast once, by the member chosen; an acknowledged one once, by the member
    /// that accepted it.
    public var localEvents: UInt64 = 0
    public var remoteEvents: UInt64 = 0
    /// Answers from other nodes to acknowledged broadcasts: the member took the event, or it was
    /// gone (the event is then retried).
    public var acksAccepted: UInt64 = 0
    public var acksRefused: UInt64 = 0
    /// Acknowledged broadcasts sent again to a member after a refusal, a missed attempt timeout or
    /// the chosen member's node going down.
    public var retries: UInt64 = 0
    /// Broadcasts that failed: to a group with no member anywhere (plain and acknowledged), and
    /// acknowledged ones no member accepted before their timeout.
    public var noEmitters: UInt64 = 0
    public var notAcknowledged: UInt64 = 0
    /// The time from an acknowledged broadcast's call until a member accepted it, retries
    /// included (failed ones are not counted).
    public var ackLatency = LatencyHistogram()

    public init() {}
}
