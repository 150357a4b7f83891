import ChorusLoop
import ChorusGroups
import ChorusMembership
import ChorusReplication
@_exported import ChorusSeal

/// Everything a node needs to start: who it is, where it listens, whom it joins.
/// Built from a cluster file (`init(config:node:)`) or directly (flags, embedding).
public struct NodeSettings: Sendable, Equatable {
    /// The cluster's name; nodes of another cluster are refused.
    public var cluster: String
    /// This node's name, unique in the cluster.
    public var name: String
    /// Node-to-node address (UDP and TCP).
    public var bind: SocketAddress
    /// The HTTP admin API address; `nil` runs no admin API (embedded nodes). Loopback unless
    /// `adminAllowRemote` (see `AdminAccess.check`).
    public var admin: SocketAddress?
    /// The file holding the bearer token the admin API asks for on every endpoint but
    /// `GET /v1/health` (`admin_token_file:`); nil asks for none.
    public var adminTokenFile: String?
    /// Whether `admin` may be an address other machines reach (`admin_allow_remote:`); it then
    /// needs `adminTokenFile`.
    public var adminAllowRemote: Bool = false
    /// Addresses to join at start; this node's own address is skipped.
    public var seeds: [SocketAddress]
    /// Where durable state lives.
    public var dataDir: String
    public var profile: Profile
    public var logLevel: LogLevel
    /// The membership protocol's timers: the profile's defaults with the file's `membership:`
    /// overrides.
    public var swim: SWIMSettings
    /// The groups protocol's timers (the profile's).
    public var groups: GroupsSettings
    /// Whether fault injection (drop, loss, delay of membership traffic) may be turned on through
    /// the admin API. Off in production.
    public var debugFaults: Bool
    /// Whether the admin API's recorders also append every message they get to a journal in
    /// `dataDir`/recorders, which survives the process (for tests and chaos runs that kill nodes).
    public var recorderJournal: Bool = false
    /// The cluster's keys: every node-to-node packet and frame is sealed with its primary and
    /// opened with any of them (see `SealedFrame`). Nil runs without encryption (`insecure: true`),
    /// which the node warns about at start. A keyring saved in `dataDir` by `chorus keys` wins over
    /// this one at start.
    public var keyring: Keyring?
    /// The replicated stores' timers and bounds (the profile's, with the file's `stores:`).
    public var replication: ReplicationSettings
    /// How far a committed store write survives (`stores.durability`).
    public var storeDurability: StoreDurability = .processCrash
    /// How many journal records a store keeps before folding them into rows (`stores.compaction_records`):
    /// more makes folds rarer and bigger, and a restart replay more.
    public var storeCompactionRecords: Int = 100_000

    /// `swim` defaults to the profile's settings.
    public init(cluster: String, name: String, bind: SocketAddress, admin: SocketAddress? = nil,
                seeds: [SocketAddress] = [], dataDir: String, profile: Profile = .lan, logLevel: LogLevel = .info,
                swim: SWIMSettings? = nil, debugFaults: Bool = false) {
        self.cluster = cluster
        self.name = name
        self.bind = bind
        self.admin = admin
        self.seeds = seeds
        self.dataDir = dataDir
        self.profile = profile
        self.logLevel = logLevel
        self.swim = swim ?? profile.swimDefaults
        self.groups = profile == .local ? .local : .lan
        self.replication = profile.replicationDefaults
        self.debugFaults = debugFaults
    }

    /// The settings of node `name` in a cluster file.
    public init(config: ClusterConfig, node name: String) throws(ConfigError) {
        let node = try config.node(named: name)
        self.init(cluster: config.cluster, name: node.name, bind: node.bind, admin: node.admin,
                  seeds: config.seeds, dataDir: node.dataDir, profile: config.profile, logLevel: config.logLevel,
                  swim: config.swim, debugFaults: node.debugFaults ?? config.debugFaults)
        recorderJournal = config.recorderJournal
        replication = config.stores.applied(to: config.profile.replicationDefaults)
        storeDurability = config.stores.durability ?? .processCrash
        if let records = config.stores.compactionRecords { storeCompactionRecords = records }
        adminTokenFile = config.adminTokenFile(of: node)
        adminAllowRemote = config.adminAllowRemote(of: node)
        keyring = try config.sealing.keyring()
    }

    /// `AdminAccess.check` on these settings (after flags changed them); `field` names where the
    /// admin address came from.
    public func checkAdminAccess(field: String = "admin") throws(ConfigError) {
        guard let admin else { return }
        try AdminAccess.check(admin: admin, allowRemote: adminAllowRemote, tokenFile: adminTokenFile, field: field)
    }
}
