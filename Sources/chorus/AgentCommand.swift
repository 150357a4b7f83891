import Chorus
import ChorusAdmin
import ChorusLoop
import CoreMetrics
import Logging
import Prometheus
#if canImport(Glibc)
import Glibc
#endif

/// `chorus agent`: runs one node in the foreground until SIGTERM or SIGINT, then leaves the
/// cluster (its peers record it as `left`, not `dead`) and stops.
struct AgentCommand: Command {
    static let words = ["agent"]
    static let summary = "Run one node."
    static let help = """
        Usage: chorus agent --config FILE --node NAME [OPTIONS]
               chorus agent --name NAME --bind HOST:PORT [OPTIONS]

        Runs one node in the foreground. SIGTERM or SIGINT makes it leave the cluster and exit 0;
        a second one ends it at once.

          From a cluster file:  chorus agent --config cluster-configs/local-3.yaml --node n1
          From flags alone:     chorus agent --name n1 --bind 127.0.0.1:7301 --admin 127.0.0.1:8301 \\
                                    --join 127.0.0.1:7302 --data-dir .chorus/n1 --profile local
        Flags given with --config override the file's values for this node.

        Options:
          --config FILE        a cluster file (YAML); use with --node
          --node NAME          the node of --config to run
          --name NAME          node name (flags mode)
          --bind HOST:PORT     node-to-node address for UDP and TCP
          --admin HOST:PORT    admin API address (default 127.0.0.1 and the bind port + 1000)
          --join HOST:PORT     a seed to join (repeatable)
          --data-dir DIR       directory for durable state (default .chorus/NAME)
          --profile PROFILE    timer profile: lan, wan or local
          --cluster NAME       cluster name (flags mode; default "chorus")
          --log-level LEVEL    trace, debug, info, notice, warning, error or critical
          --debug-faults       allow fault injection through the admin API (PUT /v1/debug/faults); for tests
          --admin-token-file FILE
                               the admin API asks for the bearer token in FILE on every
                               endpoint but GET /v1/health (as admin_token_file)
          --admin-allow-remote allow an --admin address other than loopback (needs a token file)
          --encrypt-key KEY    seal node-to-node traffic with this cluster key (as encrypt_key)
          --keyring-file FILE  ... or with the keys of this file, the first primary (as keyring_file)
          --insecure           run without encryption (as insecure: true); without --config, one
                               of these three is required
        """
    static let options: [OptionSpec] = [
        .value("config"), .value("node"), .value("name"), .value("bind"), .value("admin"), .repeatable("join"),
        .value("data-dir"), .value("profile"), .value("cluster"), .value("log-level"), .flag("debug-faults"),
        .value("admin-token-file"), .flag("admin-allow-remote"), .value("encrypt-key"), .value("keyring-file"), .flag("insecure"),
    ]

    let arguments: Arguments

    init(_ arguments: Arguments) throws(UsageError) {
        self.arguments = arguments
    }

    func run() async throws(CommandFailure) {
        let settings: NodeSettings
        let token: AdminToken?
        do {
            settings = try resolveSettings()
            token = try settings.adminTokenFile.map { path throws(ConfigError) in try AdminToken(file: path) }
        } catch {
            // A wrong flag or a wrong cluster file: nothing started, exit 2.
            throw CommandFailure(status: 2, "\(error)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(settings.logLevel)
            return handler
        }
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        var logger = Logger(label: "chorus")
        logger[metadataKey: "node"] = "\(settings.name)"

        let shutdown: ShutdownSignals
        let node: ClusterNode
        var admin: AdminServer?
        do {
            shutdown = try await ShutdownSignals.watch(logger: logger)
            node = try ClusterNode(settings: settings, logger: logger)
        } catch {
            logger.error("node \(settings.name) cannot start: \(error)")
            throw CommandFailure(status: 1)
        }
        do {
            try await node.start()
            if let address = settings.admin {
                let server = AdminServer(node: node, address: address, metrics: metrics, logger: logger, token: token)
                admin = server
                try await server.start()
            }
        } catch {
            logger.error("node \(settings.name) stopped on error: \(error)")
            await admin?.stop()
            await node.stop()
            await shutdown.close()
            throw CommandFailure(status: 1)
        }

        await shutdown.first()
        await node.leave()
        await admin?.stop()
        await node.stop()
        await shutdown.close()
        logger.info("stopped")
    }

    /// The sealing the flags ask for, if any (at most one of the three).
    static func sealing(_ arguments: Arguments) throws -> ClusterConfig.Sealing? {
        let key = arguments.value("encrypt-key"), file = arguments.value("keyring-file"), insecure = arguments.flag("insecure")
        switch (key, file, insecure) {
        case (nil, nil, false): return nil
        case let (key?, nil, false):
            do { return .key(try ClusterKey(base64: key)) } catch { throw UsageError("--encrypt-key: \(error)") }
        case let (nil, file?, false): return .keyringFile(file)
        case (nil, nil, true): return .insecure
        default: throw UsageError("give only one of --encrypt-key, --keyring-file and --insecure")
        }
    }

    /// Settings from the cluster file and/or the flags, validated.
    func resolveSettings() throws -> NodeSettings {
        let name = arguments.value("name"), bind = arguments.value("bind"), admin = arguments.value("admin")
        let cluster = arguments.value("cluster")
        var settings: NodeSettings
        var overrides = MembershipOverrides()
        if let config = arguments.value("config") {
            guard let node = arguments.value("node") else { throw UsageError("--config needs --node to say which node to run") }
            let file = try ClusterConfig.load(path: config)
            overrides = file.membership
            settings = try NodeSettings(config: file, node: node)
            if let name { settings.name = name }
            if let bind { settings.bind = try address(bind, "--bind") }
        } else {
            guard let name else { throw UsageError("give --config and --node, or at least --name and --bind") }
            guard let bind else { throw UsageError("--bind HOST:PORT is required without --config") }
            settings = NodeSettings(cluster: cluster ?? "chorus", name: name, bind: try address(bind, "--bind"),
                                    dataDir: ".chorus/\(name)")
            if admin == nil {
                // The default admin port is the bind port + 1000, which must still be a port.
                guard settings.bind.port <= 64535 else {
                    throw UsageError("--admin is required when the bind port is above 64535")
                }
                settings.admin = try SocketAddress(host: "127.0.0.1", port: settings.bind.port + 1000)
            }
        }
        if let cluster { settings.cluster = cluster }
        if let admin { settings.admin = try address(admin, "--admin") }
        let joins = arguments.all("join")
        if !joins.isEmpty { settings.seeds = try joins.map { try address($0, "--join") } }
        if let dataDir = arguments.value("data-dir") { settings.dataDir = dataDir }
        if let profile = arguments.value("profile") {
            guard let value = Profile(rawValue: profile) else {
                throw UsageError("--profile must be one of \(Profile.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(profile)\"")
            }
            settings.profile = value
            // The file's membership overrides stay on top of the profile given here.
            settings.swim = try overrides.applied(to: value.swimDefaults)
        }
        if arguments.flag("debug-faults") { settings.debugFaults = true }
        let sealing = try Self.sealing(arguments)
        if let sealing {
            settings.keyring = try sealing.keyring()
        } else if arguments.value("config") == nil {
            throw UsageError("node-to-node traffic is sealed with a cluster key: give --encrypt-key KEY (from `chorus keys generate`) "
                             + "or --keyring-file FILE, or --insecure to run without encryption")
        }
        if let tokenFile = arguments.value("admin-token-file") { settings.adminTokenFile = tokenFile }
        if arguments.flag("admin-allow-remote") { settings.adminAllowRemote = true }
        try settings.checkAdminAccess(field: admin == nil ? "admin" : "--admin")
        if let logLevel = arguments.value("log-level") {
            guard let value = LogLevel(rawValue: logLevel) else {
                throw UsageError("--log-level must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(logLevel)\"")
            }
            settings.logLevel = value
        }
        return settings
    }

    private func address(_ text: String, _ flag: String) throws(UsageError) -> SocketAddress {
        do { return try SocketAddress(text) } catch { throw UsageError("\(flag): \(error)") }
    }
}

extension Logger.Level {
    init(_ level: LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }
}
