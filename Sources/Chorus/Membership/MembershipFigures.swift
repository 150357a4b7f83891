import ChorusMembership

/// What the membership protocol of a node shows and did since the node started: its members by
/// status, the protocol's counts (`SWIMInstance.Counters`), the events it reported, Lifeguard's
/// local health. Counted on the failure-detector loop, read at scrape time (`ClusterNode.figures()`).
public struct MembershipFigures: Sendable, Equatable {
    /// Members by status as this node sees them, itself included; a status no member has is 0.
    public var members: [MemberStatus: Int] = [:]
    /// Probes, indirect probes, failed probes and refutations.
    public var counters = SWIMInstance.Counters()
    /// Members this node came to suspect.
    public var suspicions: UInt64 = 0
    /// Members this node came to consider dead.
    public var deaths: UInt64 = 0
    /// Lifeguard's local health score (0 is healthy): this node's probe intervals and timeouts are
    /// stretched by the score + 1.
    public var localHealth = 0
    /// Stream messages (syncs, fallback pings) that found no listener (the process is gone), and
    /// those that could not get through otherwise.
    public var undeliverableRefused: UInt64 = 0
    public var undeliverableUnreachable: UInt64 = 0

    public init() {}
}
