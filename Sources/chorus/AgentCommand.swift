import ArgumentParser
import Chorus
import ChorusAdmin
import ChorusLoop
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `chorus agent`: runs one node in the foreground until SIGTERM or SIGINT.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run one node.",
        discussion: """
            From a cluster file:  chorus agent --config cluster-configs/local-3.yaml --node n1
            From flags alone:     chorus agent --name n1 --bind 127.0.0.1:7301 --admin 127.0.0.1:8301 \\
                                      --join 127.0.0.1:7302 --data-dir .chorus/n1 --profile local
            Flags given with --config override the file's values for this node.
            """)

    @Option(help: "A cluster file (YAML); use with --node.") var config: String?
    @Option(help: "The node of --config to run.") var node: String?
    @Option(help: "Node name (flags mode).") var name: String?
    @Option(help: "Node-to-node address for UDP and TCP, HOST:PORT.") var bind: String?
    @Option(help: "Admin API address, HOST:PORT (default 127.0.0.1 and the bind port + 1000).") var admin: String?
    @Option(name: .customLong("join"), help: "A seed to join, HOST:PORT (repeatable).") var joins: [String] = []
    @Option(help: "Directory for durable state (default .chorus/NAME).") var dataDir: String?
    @Option(help: "Timer profile: lan, wan or local.") var profile: String?
    @Option(help: "Cluster name (flags mode; default \"chorus\").") var cluster: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String?
    @Flag(help: "Allow fault injection through the admin API (PUT /v1/debug/faults); for tests.") var debugFaults = false

    func run() async throws {
        let settings: NodeSettings
        do {
            settings = try resolveSettings()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
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

        do {
            let node = try ClusterNode(settings: settings, logger: logger)
            let admin = settings.admin.map { AdminServer(node: node, address: $0, metrics: metrics, logger: logger) }
            let services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: NodeService(node: node, admin: admin))]
            let group = ServiceGroup(configuration: .init(services: services,
                                                          gracefulShutdownSignals: [.sigterm, .sigint],
                                                          logger: logger))
            try await group.run()
            logger.info("stopped")
        } catch {
            logger.error("node \(settings.name) stopped on error: \(error)")
            throw ExitCode(1)
        }
    }

    /// Settings from the cluster file and/or the flags, validated.
    func resolveSettings() throws -> NodeSettings {
        var settings: NodeSettings
        var overrides = MembershipOverrides()
        if let config {
            guard let node else { throw ValidationError("--config needs --node to say which node to run") }
            let cluster = try ClusterConfig.load(path: config)
            overrides = cluster.membership
            settings = try NodeSettings(config: cluster, node: node)
            if let name { settings.name = name }
            if let bind { settings.bind = try parse(bind, "--bind") }
        } else {
            guard let name else { throw ValidationError("give --config and --node, or at least --name and --bind") }
            guard let bind else { throw ValidationError("--bind HOST:PORT is required without --config") }
            settings = NodeSettings(cluster: cluster ?? "chorus", name: name, bind: try parse(bind, "--bind"),
                                    dataDir: ".chorus/\(name)")
            if admin == nil {
                // The default admin port is the bind port + 1000, which must still be a port.
                guard settings.bind.port <= 64535 else {
                    throw ValidationError("--admin is required when the bind port is above 64535")
                }
                settings.admin = try SocketAddress(host: "127.0.0.1", port: settings.bind.port + 1000)
            }
        }
        if let cluster { settings.cluster = cluster }
        if let admin { settings.admin = try parse(admin, "--admin") }
        if !joins.isEmpty { settings.seeds = try joins.map { try parse($0, "--join") } }
        if let dataDir { settings.dataDir = dataDir }
        if let profile {
            guard let value = Profile(rawValue: profile) else {
                throw ValidationError("--profile must be one of \(Profile.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(profile)\"")
            }
            settings.profile = value
            // The file's membership overrides stay on top of the profile given here.
            settings.swim = try overrides.applied(to: value.swimDefaults)
        }
        if debugFaults { settings.debugFaults = true }
        if let logLevel {
            guard let value = LogLevel(rawValue: logLevel) else {
                throw ValidationError("--log-level must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(logLevel)\"")
            }
            settings.logLevel = value
        }
        return settings
    }

    private func parse(_ text: String, _ flag: String) throws -> SocketAddress {
        do { return try SocketAddress(text) } catch { throw ValidationError("\(flag): \(error)") }
    }
}

/// Runs a node as a service: starts it and its admin API, waits for graceful shutdown
/// (SIGTERM/SIGINT), leaves the cluster (its peers record it as `left`, not `dead`), then stops
/// the admin API and the node.
struct NodeService: Service {
    let node: ClusterNode
    let admin: AdminServer?

    func run() async throws {
        try await node.start()
        do {
            try await admin?.start()
        } catch {
            await node.stop()
            throw error
        }
        try? await gracefulShutdown()
        await node.leave()
        await admin?.stop()
        await node.stop()
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
