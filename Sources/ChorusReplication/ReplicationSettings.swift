/// Timers and bounds of replication. Every field is settable in a cluster file.
public struct ReplicationSettings: Sendable, Equatable {
    /// How often a replica tells a peer what it has seen when it has news for it (repairs lost
    /// deltas, lets logs shrink).
    public var digestInterval: Duration
    /// How often a replica tells a peer what it has seen when it has no news for it: ten digest
    /// intervals unless set.
    public var quietDigestInterval: Duration {
        get { quietDigestIntervalSet ?? digestInterval * 10 }
        set { quietDigestIntervalSet = newValue }
    }
    private var quietDigestIntervalSet: Duration?
    /// How long a pushed delta may still be on its way: a periodic digest that lacks a younger one
    /// does not make the delta go again.
    public var settleTime: Duration
    /// The most deltas the log keeps; a peer behind the oldest gets a snapshot.
    public var logCapacity: Int
    /// How long a delta stays logged even after every live peer has it, so a node that restarts
    /// soon after catches up by deltas rather than by a snapshot.
    public var minRetention: Duration
    /// The size a message of deltas grows to before another is started.
    public var messageBytes: Int

    public init(digestInterval: Duration, settleTime: Duration, logCapacity: Int = 200_000,
                minRetention: Duration = .seconds(30), messageBytes: Int = 64 << 10,
                quietDigestInterval: Duration? = nil) {
        self.digestInterval = digestInterval
        self.quietDigestIntervalSet = quietDigestInterval
        self.settleTime = settleTime
        self.logCapacity = logCapacity
        self.minRetention = minRetention
        self.messageBytes = messageBytes
    }

    /// For machines on one network.
    public static let lan = ReplicationSettings(digestInterval: .seconds(1), settleTime: .seconds(2))
    /// For sites far apart.
    public static let wan = ReplicationSettings(digestInterval: .seconds(3), settleTime: .seconds(6))
    /// Fast timers for tests on one machine.
    public static let local = ReplicationSettings(digestInterval: .milliseconds(200), settleTime: .milliseconds(400),
                                                  minRetention: .seconds(10))
}
