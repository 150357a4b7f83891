/// Timers of the groups protocol.
public struct GroupsSettings: Sendable, Equatable {
    /// How often a node tells each peer its latest change number (`GroupsDigest`), so that a
    /// peer that lost the last delta finds out without waiting for the next change.
    public var digestInterval: Duration
    /// How long to wait for the answer to a sync request before asking again.
    public var syncRetryInterval: Duration

    public init(digestInterval: Duration = .seconds(5), syncRetryInterval: Duration = .seconds(1)) {
        self.digestInterval = digestInterval
        self.syncRetryInterval = syncRetryInterval
    }

    /// Defaults for a LAN cluster.
    public static let lan = GroupsSettings()
    /// Fast timers for tests on one machine.
    public static let local = GroupsSettings(digestInterval: .milliseconds(500), syncRetryInterval: .milliseconds(200))
}
