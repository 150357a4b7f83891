import ChorusReplication
import ChorusStorage

/// The `stores:` mapping of a cluster file: replication timers and bounds over the profile's
/// defaults, and how durable a commit is. Every key is optional.
///
/// ```yaml
/// stores:
///   digest_interval: 1s      # how often a node tells a peer what it has seen, when it has news for it
///   quiet_digest_interval: 10s  # ... and when it has none (10 x digest_interval unless set)
///   settle_time: 2s          # a pushed write this young is not sent again by anti-entropy
///   log_capacity: 200000     # writes kept to repair peers; a peer further behind gets a snapshot
///   min_retention: 30s       # how long a write stays logged after every live peer has it
///   durability: process_crash  # or power_loss (fsync at every commit: slower)
///   compaction_records: 100000  # journal records kept before they are folded into rows
/// ```
public struct StoresOverrides: Sendable, Equatable {
    public var digestInterval: Duration?
    public var quietDigestInterval: Duration?
    public var settleTime: Duration?
    public var logCapacity: Int?
    public var minRetention: Duration?
    public var durability: StoreDurability?
    public var compactionRecords: Int?

    public init() {}

    static let knownKeys: Set<String> = ["digest_interval", "quiet_digest_interval", "settle_time", "log_capacity", "min_retention", "durability",
                                         "compaction_records"]

    init(_ fields: ConfigFields) throws(ConfigError) {
        try fields.refuseUnknown(Self.knownKeys)
        digestInterval = try fields.duration("digest_interval")
        quietDigestInterval = try fields.duration("quiet_digest_interval")
        settleTime = try fields.duration("settle_time")
        logCapacity = try fields.integer("log_capacity", in: 1...100_000_000)
        minRetention = try fields.duration("min_retention")
        compactionRecords = try fields.integer("compaction_records", in: 1...100_000_000)
        if fields.map["durability"] != nil {
            durability = try fields.enumeration("durability", StoreDurability.self, default: .processCrash)
        }
    }

    /// `base` (a profile's defaults) with these overrides.
    public func applied(to base: ReplicationSettings) -> ReplicationSettings {
        var settings = base
        if let digestInterval { settings.digestInterval = digestInterval }
        if let quietDigestInterval { settings.quietDigestInterval = quietDigestInterval }
        if let settleTime { settings.settleTime = settleTime }
        if let logCapacity { settings.logCapacity = logCapacity }
        if let minRetention { settings.minRetention = minRetention }
        return settings
    }
}

/// How far a committed store write survives.
public enum StoreDurability: String, Sendable, Equatable, CaseIterable {
    /// Survives the process being killed (`kill -9`): commits reach the operating system's cache
    /// (SQLite's WAL with `synchronous=NORMAL`). The default.
    case processCrash = "process_crash"
    /// Also survives power loss: every commit waits for the disk (`synchronous=FULL`).
    case powerLoss = "power_loss"

    var storage: StorageDurability {
        switch self {
        case .processCrash: .processCrash
        case .powerLoss: .powerLoss
        }
    }
}

extension Profile {
    /// The replication timers of this profile, before any `stores:` override.
    public var replicationDefaults: ReplicationSettings {
        switch self {
        case .lan: .lan
        case .wan: .wan
        case .local: .local
        }
    }
}
