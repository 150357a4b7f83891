import ChorusLoop
import ChorusWire
import Foundation
import Logging

/// A Chorus node: the embedding API and the owner of the node's event loops.
///
/// Two loops, as DESIGN.md asks: the failure-detector loop carries UDP (probes and gossip) so that
/// heavy data traffic cannot delay them, and the data loop carries node-to-node TCP.
///
/// ```swift
/// let node = try ClusterNode(settings: NodeSettings(cluster: "demo", name: "n1",
///                                                   bind: try SocketAddress("127.0.0.1:7301"),
///                                                   dataDir: ".chorus/n1"))
/// try await node.start()
/// ...
/// await node.stop()
/// ```
public final class ClusterNode: Sendable {
    /// The software version, shown by `chorus version` and `/v1/self`.
    public static let version = "0.1.0"

    public let settings: NodeSettings
    /// This incarnation's identity: a restarted node gets a new uid.
    public let uid: NodeUID
    private let failureDetectorLoop: EventLoop
    private let dataLoop: EventLoop
    private let links: PeerLinks
    private let datagrams: DatagramEndpoint
    private let logger: Logger

    public init(settings: NodeSettings, logger: Logger? = nil) throws(LoopError) {
        self.settings = settings
        self.uid = NodeUID.random()
        var logger = logger ?? Logger(label: "chorus")
        logger[metadataKey: "node"] = "\(settings.name)"
        self.logger = logger
        failureDetectorLoop = try EventLoop(name: "chorus-fd")
        do {
            dataLoop = try EventLoop(name: "chorus-data")
        } catch {
            try? failureDetectorLoop.shutdown()
            throw error
        }
        links = PeerLinks(loop: dataLoop, settings: settings, uid: uid, logger: logger)
        datagrams = DatagramEndpoint(loop: failureDetectorLoop, bind: settings.bind, logger: logger)
    }

    /// Binds UDP and TCP on the bind address and starts joining the seeds.
    /// A port in use fails here with `EADDRINUSE`; the node is then stopped.
    public func start() async throws {
        do {
            try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true)
            let datagrams = self.datagrams
            try await failureDetectorLoop.submit { try datagrams.start() }
            let links = self.links
            try await dataLoop.submit { try links.start() }
        } catch {
            await stop()
            throw error
        }
        logger.info("node \(settings.name) (\(uid)) of cluster \(settings.cluster) listening on \(settings.bind) (udp+tcp), profile \(settings.profile.rawValue)")
    }

    /// Nodes this node has a link with.
    public func connectedPeers() async -> [PeerInfo] {
        let links = self.links
        return (try? await dataLoop.submit { links.peers }) ?? []
    }

    /// Closes every socket and joins the loops' threads. Idempotent.
    public func stop() async {
        let links = self.links
        let datagrams = self.datagrams
        try? await dataLoop.submit { links.stop() }
        try? await failureDetectorLoop.submit { datagrams.stop() }
        for loop in [dataLoop, failureDetectorLoop] {
            do { try loop.shutdown() } catch { logger.error("loop \(loop.name) did not close cleanly: \(error)") }
        }
    }
}
