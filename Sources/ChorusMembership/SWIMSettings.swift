/// The timers and factors of the membership protocol. Every value can be set; `profile` gives
/// the defaults.
///
/// `lan` is memberlist's DefaultLANConfig; `wan` its DefaultWANConfig; `local` is for tests and
/// development on one machine (fast, still with real slack for a loaded CI host).
public struct SWIMSettings: Sendable, Equatable {
    /// Time between two probes of this node (stretched by local health).
    public var probeInterval: Duration
    /// How long a direct probe waits for its ack before going indirect (stretched by local health).
    public var probeTimeout: Duration
    /// Helpers asked to probe a member that missed a direct probe (SWIM's k).
    public var indirectChecks: Int
    /// Piggyback retransmits = `retransmitMultiplier * ceil(log10(n + 1))`.
    public var retransmitMultiplier: Int
    /// Suspicion minimum = `suspicionMultiplier * max(1, log10 n) * probeInterval`; also sets the
    /// confirmations wanted (`suspicionMultiplier - 2`).
    public var suspicionMultiplier: Int
    /// Suspicion maximum = `suspicionMaxTimeoutMultiplier * minimum`.
    public var suspicionMaxTimeoutMultiplier: Int
    /// Time between gossip rounds, and members told per round.
    public var gossipInterval: Duration
    public var gossipNodes: Int
    /// Time between full-state syncs with one random member over TCP.
    public var pushPullInterval: Duration
    /// Local health bound (Lifeguard); 1 disables the multiplier.
    public var awarenessMaxMultiplier: Int
    /// Whether a probe that missed its direct ack is also tried over TCP (memberlist's fallback:
    /// a stream gets through loss that drops datagrams).
    public var tcpFallback: Bool
    /// Whether Lifeguard's three mechanisms are on (local health, dynamic suspicion, buddy system).
    public var lifeguard: Bool
    /// How often a dead or left member is tried again, and for how long after it went away,
    /// so a healed partition merges without an operator.
    public var reconnectInterval: Duration
    public var reconnectTimeout: Duration
    /// UDP packet budget (bytes) for a probe and its piggybacked news.
    public var udpPacketSize: Int
    /// How long a member declared dead still gets gossip, so that a member wrongly declared dead
    /// (paused, partitioned) hears it and refutes.
    public var gossipToTheDead: Duration

    public static func profile(_ name: String) -> SWIMSettings? {
        switch name {
        case "lan": lan
        case "wan": wan
        case "local": local
        default: nil
        }
    }

    public static let lan = SWIMSettings(
        probeInterval: .seconds(1), probeTimeout: .milliseconds(500), indirectChecks: 3,
        retransmitMultiplier: 4, suspicionMultiplier: 4, suspicionMaxTimeoutMultiplier: 6,
        gossipInterval: .milliseconds(200), gossipNodes: 3, pushPullInterval: .seconds(30),
        awarenessMaxMultiplier: 8, tcpFallback: true, lifeguard: true,
        reconnectInterval: .seconds(10), reconnectTimeout: .seconds(24 * 3600), udpPacketSize: 1400,
        gossipToTheDead: .seconds(30))

    public static let wan = SWIMSettings(
        probeInterval: .seconds(5), probeTimeout: .seconds(3), indirectChecks: 3,
        retransmitMultiplier: 4, suspicionMultiplier: 6, suspicionMaxTimeoutMultiplier: 6,
        gossipInterval: .milliseconds(500), gossipNodes: 4, pushPullInterval: .seconds(60),
        awarenessMaxMultiplier: 8, tcpFallback: true, lifeguard: true,
        reconnectInterval: .seconds(30), reconnectTimeout: .seconds(24 * 3600), udpPacketSize: 1400,
        gossipToTheDead: .seconds(60))

    public static let local = SWIMSettings(
        probeInterval: .milliseconds(200), probeTimeout: .milliseconds(100), indirectChecks: 3,
        retransmitMultiplier: 4, suspicionMultiplier: 4, suspicionMaxTimeoutMultiplier: 6,
        gossipInterval: .milliseconds(50), gossipNodes: 3, pushPullInterval: .seconds(10),
        awarenessMaxMultiplier: 8, tcpFallback: true, lifeguard: true,
        reconnectInterval: .seconds(1), reconnectTimeout: .seconds(3600), udpPacketSize: 1400,
        gossipToTheDead: .seconds(5))
}
