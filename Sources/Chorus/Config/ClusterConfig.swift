import ChorusLoop
import ChorusMembership
#if canImport(Glibc)
import Glibc
#endif

/// A cluster as described in a YAML file of `cluster-configs/`: its name, timer profile, seeds and
/// nodes. Loading validates every field; a wrong file is refused as a whole with a `ConfigError`.
///
/// ```yaml
/// cluster: local-3
/// profile: local
/// log_level: info
/// seeds: ["127.0.0.1:7301"]
/// membership:              # optional: SWIM timers over the profile's (see MembershipOverrides)
///   probe_interval: 1s
/// debug_faults: false      # optional: allow fault injection through the admin API
/// recorder_journal: false  # optional: admin API recorders also append what they get to data_dir
/// admin_token_file: admin.token  # optional: the admin API asks for this bearer token (also per node)
/// admin_allow_remote: false      # optional: allow a non-loopback admin address (needs a token; also per node)
/// encrypt_key: <base64>    # the cluster key (chorus keys generate); or keyring_file: FILE; or insecure: true
/// stores:                  # optional: replication timers and durability (see StoresOverrides)
///   durability: process_crash
/// nodes:
///   - name: n1
///     bind: 127.0.0.1:7301
///     admin: 127.0.0.1:8301
///     data_dir: .chorus/local-3/n1
/// ```
public struct ClusterConfig: Sendable, Equatable {
    public var cluster: String
    public var profile: Profile
    public var logLevel: LogLevel
    public var seeds: [SocketAddress]
    public var nodes: [NodeConfig]
    /// SWIM settings set one by one over the profile's defaults (`membership:`).
    public var membership: MembershipOverrides
    /// Whether every node allows fault injection (`debug_faults:`); a node may say otherwise.
    public var debugFaults: Bool
    /// Whether the admin API's recorders also write every message they get to a journal file in
    /// the node's data_dir (`recorder_journal:`), where it outlives the process.
    public var recorderJournal: Bool
    /// The profile's SWIM settings with `membership` applied (checked when the file is read).
    public var swim: SWIMSettings
    /// Replication timers and durability over the profile's (`stores:`).
    public var stores: StoresOverrides = StoresOverrides()
    /// The file holding the bearer token every node's admin API asks for (`admin_token_file:`);
    /// a node may name its own. Relative paths are taken from the current directory.
    public var adminTokenFile: String?
    /// Whether admin addresses other than loopback are allowed (`admin_allow_remote:`); a node
    /// may say otherwise. See `AdminAccess.check`.
    public var adminAllowRemote: Bool = false
    /// How node-to-node traffic is sealed (`encrypt_key:`, `keyring_file:` or `insecure: true`).
    public var sealing: Sealing = .insecure

    /// How the nodes of a cluster file seal their traffic: exactly one of these is required.
    public enum Sealing: Sendable, Equatable {
        /// `encrypt_key:` the cluster's key, in base64.
        case key(ClusterKey)
        /// `keyring_file:` a file of keys, one per line, the primary first (a relative path is
        /// taken from the current directory, as `data_dir` is).
        case keyringFile(String)
        /// `insecure: true`: no encryption.
        case insecure

        /// The keyring it names (the file is read now); nil when insecure.
        public func keyring() throws(ConfigError) -> Keyring? {
            switch self {
            case let .key(key):
                return Keyring(primary: key)
            case let .keyringFile(path):
                let text = try ClusterConfig.readText(path: path, limit: 1 << 20, what: "a keyring file")
                do {
                    return try Keyring(file: text)
                } catch {
                    throw ConfigError(field: "keyring_file", problem: "\(path): \(error)")
                }
            case .insecure:
                return nil
            }
        }

        /// Reads the three fields; exactly one must be set.
        static func read(_ fields: ConfigFields) throws(ConfigError) -> Sealing {
            let key = try fields.optionalString("encrypt_key")
            let file = try fields.optionalString("keyring_file")
            let insecure = try fields.boolean("insecure") ?? false
            switch (key, file, insecure) {
            case let (key?, nil, false):
                do {
                    return .key(try ClusterKey(base64: key))
                } catch {
                    throw ConfigError(field: "encrypt_key", problem: "\(error)")
                }
            case let (nil, file?, false):
                return .keyringFile(file)
            case (nil, nil, true):
                return .insecure
            case (nil, nil, false):
                throw ConfigError(field: "encrypt_key", problem: "node-to-node traffic is sealed with a cluster key: set encrypt_key "
                                      + "(make one with `chorus keys generate`) or keyring_file, or insecure: true to run without encryption")
            default:
                throw ConfigError(field: "encrypt_key", problem: "set only one of encrypt_key, keyring_file and insecure: true")
            }
        }
    }

    /// Fields a file may hold; anything else is refused (a typo must not pass silently).
    static let knownKeys: Set<String> = ["cluster", "profile", "log_level", "seeds", "nodes", "membership", "debug_faults",
                                           "recorder_journal", "stores", "admin_token_file", "admin_allow_remote",
                                           "encrypt_key", "keyring_file", "insecure"]

    /// The node called `name`, or an error listing the names there are.
    public func node(named name: String) throws(ConfigError) -> NodeConfig {
        guard let node = nodes.first(where: { $0.name == name }) else {
            throw ConfigError(field: "nodes", problem: "no node named \"\(name)\" (nodes: \(nodes.map(\.name).joined(separator: ", ")))")
        }
        return node
    }

    /// The token file of `node`'s admin API: its own `admin_token_file`, else the cluster's.
    public func adminTokenFile(of node: NodeConfig) -> String? { node.adminTokenFile ?? adminTokenFile }

    /// Whether `node`'s admin address may be other than loopback: its own `admin_allow_remote`,
    /// else the cluster's.
    public func adminAllowRemote(of node: NodeConfig) -> Bool { node.adminAllowRemote ?? adminAllowRemote }

    /// Loads and validates a YAML file.
    public static func load(path: String) throws(ConfigError) -> ClusterConfig {
        let text = try readText(path: path)
        do {
            return try parse(yaml: text)
        } catch {
            throw ConfigError(field: "\(path): \(error.field)", problem: error.problem)
        }
    }

    /// Parses and validates YAML text.
    public static func parse(yaml text: String) throws(ConfigError) -> ClusterConfig {
        let root: YAMLValue
        do {
            root = try YAMLValue.parse(text)
        } catch {
            throw ConfigError(field: "(document)", problem: "not valid YAML: \(error)")
        }
        guard case .map(let map) = root else {
            throw ConfigError(field: "(document)", problem: "expected a mapping with cluster, profile, seeds and nodes")
        }
        let fields = ConfigFields(map, path: "")
        try fields.refuseUnknown(knownKeys)
        let cluster = try fields.name("cluster")
        let profile = try fields.enumeration("profile", Profile.self, default: .lan)
        let logLevel = try fields.enumeration("log_level", LogLevel.self, default: .info)
        let seeds = try fields.addressList("seeds")
        let membership = try fields.mapping("membership").map { fields throws(ConfigError) in try MembershipOverrides(fields) } ?? MembershipOverrides()
        let swim = try membership.applied(to: profile.swimDefaults)
        let debugFaults = try fields.boolean("debug_faults") ?? false
        let recorderJournal = try fields.boolean("recorder_journal") ?? false
        let stores = try fields.mapping("stores").map { fields throws(ConfigError) in try StoresOverrides(fields) } ?? StoresOverrides()
        let adminTokenFile = try fields.optionalString("admin_token_file")
        let adminAllowRemote = try fields.boolean("admin_allow_remote") ?? false
        let sealing = try Sealing.read(fields)
        let nodeMaps = try fields.list("nodes")
        guard !nodeMaps.isEmpty else { throw ConfigError(field: "nodes", problem: "expected at least one node") }
        var nodes: [NodeConfig] = []
        for (index, item) in nodeMaps.enumerated() {
            let path = "nodes[\(index)]"
            guard case .map(let nodeMap) = item else {
                throw ConfigError(field: path, problem: "expected a mapping with name, bind, admin, data_dir")
            }
            nodes.append(try NodeConfig(ConfigFields(nodeMap, path: path)))
        }
        try checkUnique(nodes.map(\.name), field: "name")
        try checkUnique(nodes.map { "\($0.bind)" }, field: "bind")
        try checkUnique(nodes.map { "\($0.admin)" }, field: "admin")
        try checkUnique(nodes.map(\.dataDir), field: "data_dir")
        var config = ClusterConfig(cluster: cluster, profile: profile, logLevel: logLevel, seeds: seeds, nodes: nodes,
                                   membership: membership, debugFaults: debugFaults, recorderJournal: recorderJournal, swim: swim)
        config.stores = stores
        config.adminTokenFile = adminTokenFile
        config.adminAllowRemote = adminAllowRemote
        config.sealing = sealing
        for (index, node) in nodes.enumerated() {
            try AdminAccess.check(admin: node.admin, allowRemote: config.adminAllowRemote(of: node),
                                  tokenFile: config.adminTokenFile(of: node), field: "nodes[\(index)].admin")
        }
        return config
    }

    /// The file at `path` as UTF-8 text, at most `limit` bytes (a cluster file is a few KiB);
    /// `what` names the file a larger one was taken for.
    static func readText(path: String, limit: Int = 1 << 20, what: String = "a cluster file") throws(ConfigError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigError(field: path, problem: "cannot read the file (\(errnoDescription(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(field: path, problem: "cannot read the file (\(errnoDescription(errno)))")
            }
            if count == 0 { break }
            bytes += chunk.prefix(count)
            guard bytes.count <= limit else { throw ConfigError(field: path, problem: "larger than \(limit) bytes; is it \(what)?") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(field: path, problem: "not UTF-8 text")
        }
        return text
    }

    private static func checkUnique(_ values: [String], field: String) throws(ConfigError) {
        var seen: [String: Int] = [:]
        for (index, value) in values.enumerated() {
            if let first = seen[value] {
                throw ConfigError(field: "nodes[\(index)].\(field)", problem: "\"\(value)\" is already used by nodes[\(first)]")
            }
            seen[value] = index
        }
    }
}

/// One node of a cluster file.
public struct NodeConfig: Sendable, Equatable {
    /// The node's name, unique in the cluster: letters, digits, `-`, `_`, `.`.
    public var name: String
    /// Node-to-node address, UDP and TCP.
    public var bind: SocketAddress
    /// The HTTP admin API address (loopback unless said otherwise).
    public var admin: SocketAddress
    /// Where the node keeps its durable state.
    public var dataDir: String
    /// This node's `debug_faults:`, when it differs from the cluster's.
    public var debugFaults: Bool?
    /// This node's `admin_token_file:`, when it differs from the cluster's.
    public var adminTokenFile: String?
    /// This node's `admin_allow_remote:`, when it differs from the cluster's.
    public var adminAllowRemote: Bool?

    static let knownKeys: Set<String> = ["name", "bind", "admin", "data_dir", "debug_faults", "admin_token_file", "admin_allow_remote"]

    public init(name: String, bind: SocketAddress, admin: SocketAddress, dataDir: String, debugFaults: Bool? = nil) {
        self.name = name
        self.bind = bind
        self.admin = admin
        self.dataDir = dataDir
        self.debugFaults = debugFaults
    }

    init(_ fields: ConfigFields) throws(ConfigError) {
        try fields.refuseUnknown(Self.knownKeys)
        name = try fields.name("name")
        bind = try fields.address("bind")
        admin = try fields.address("admin")
        dataDir = try fields.string("data_dir")
        debugFaults = try fields.boolean("debug_faults")
        adminTokenFile = try fields.optionalString("admin_token_file")
        adminAllowRemote = try fields.boolean("admin_allow_remote")
    }
}

/// Log levels, as written in configs and on the command line.
public enum LogLevel: String, Sendable, CaseIterable, Codable {
    case trace, debug, info, notice, warning, error, critical
}

/// Typed reads of a YAML mapping that name the field on error.
struct ConfigFields {
    let map: [String: YAMLValue]
    let path: String

    init(_ map: [String: YAMLValue], path: String) {
        self.map = map
        self.path = path
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func refuseUnknown(_ known: Set<String>) throws(ConfigError) {
        if let unknown = map.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(field: fieldPath(unknown), problem: "unknown field (expected one of: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ key: String) throws(ConfigError) -> String {
        guard let value = map[key] else { throw ConfigError(field: fieldPath(key), problem: "missing; expected a string") }
        guard case .string(let text) = value, !text.isEmpty else {
            throw ConfigError(field: fieldPath(key), problem: "expected a non-empty string, found \(describe(value))")
        }
        return text
    }

    /// A non-empty string, or nil when the key is absent.
    func optionalString(_ key: String) throws(ConfigError) -> String? {
        map[key] == nil ? nil : try string(key)
    }

    func name(_ key: String) throws(ConfigError) -> String {
        let text = try string(key)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard text.count <= 128, text.allSatisfy({ allowed.contains($0) }) else {
            throw ConfigError(field: fieldPath(key), problem: "expected letters, digits, '-', '_' or '.' (at most 128), found \"\(text)\"")
        }
        return text
    }

    func address(_ key: String) throws(ConfigError) -> SocketAddress {
        let text = try string(key)
        do {
            return try SocketAddress(text)
        } catch {
            throw ConfigError(field: fieldPath(key), problem: "expected host:port with a numeric IP, found \"\(text)\" (\(error.reason))")
        }
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, default value: E) throws(ConfigError) -> E where E.RawValue == String {
        guard let raw = map[key] else { return value }
        guard case .string(let text) = raw, let parsed = E(rawValue: text) else {
            throw ConfigError(field: fieldPath(key), problem: "expected one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), found \(describe(raw))")
        }
        return parsed
    }

    func list(_ key: String) throws(ConfigError) -> [YAMLValue] {
        guard let raw = map[key] else { throw ConfigError(field: fieldPath(key), problem: "missing; expected a list") }
        guard case .list(let items) = raw else {
            throw ConfigError(field: fieldPath(key), problem: "expected a list, found \(describe(raw))")
        }
        return items
    }

    func addressList(_ key: String) throws(ConfigError) -> [SocketAddress] {
        guard map[key] != nil else { return [] }
        var addresses: [SocketAddress] = []
        for (index, item) in try list(key).enumerated() {
            guard case .string(let text) = item else {
                throw ConfigError(field: "\(fieldPath(key))[\(index)]", problem: "expected host:port, found \(describe(item))")
            }
            do {
                addresses.append(try SocketAddress(text))
            } catch {
                throw ConfigError(field: "\(fieldPath(key))[\(index)]", problem: "expected host:port with a numeric IP, found \"\(text)\" (\(error.reason))")
            }
        }
        return addresses
    }

    func describe(_ value: YAMLValue) -> String {
        switch value {
        case .string(let text): "the string \"\(text)\""
        case .int(let number): "the number \(number)"
        case .double(let number): "the number \(number)"
        case .bool(let flag): "the boolean \(flag)"
        case .null: "nothing (null)"
        case .list: "a list"
        case .map: "a mapping"
        }
    }
}
