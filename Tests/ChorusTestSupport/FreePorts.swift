import Foundation

/// Free loopback ports for test nodes, each free for both TCP and UDP.
///
/// They are drawn at random from 24000..<32000, below the kernel's ephemeral range (32768 and
/// up by default): a port handed out by binding port 0 is an ephemeral one, and the many
/// outgoing connections a test suite makes can take it between the check and the node's bind.
/// Ports of this range are never given to an outgoing connection.
///
/// A port is handed out once per test process: tests run in parallel, and a port drawn again
/// after its first taker checked it but before that taker bound it would fail one of the two
/// with EADDRINUSE (the draws are random, so over a whole suite a repeat is likely).
public enum FreePorts {
    static let range: Range<UInt16> = 24_000..<32_000
    nonisolated(unsafe) private static var handedOut = Set<UInt16>()
    private static let lock = NSLock()

    public static func take(_ count: Int) throws -> [UInt16] {
        var ports: [UInt16] = []
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        var random = SystemRandomNumberGenerator()
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts < 10_000 else { throw POSIXError(.EADDRINUSE) }
            let port = UInt16.random(in: range, using: &random)
            let fresh = lock.withLock { handedOut.insert(port).inserted }
            guard fresh else { continue }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = port.bigEndian
            // Held open until every port is chosen, so that no two callers in this process get it.
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let tcpBound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            sockets.append(tcp)
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            let udpBound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(udp)
            if tcpBound == 0 && udpBound == 0 { ports.append(port) }
        }
        return ports
    }
}

/// A scratch directory for one test.
public func scratchDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "chorus-it-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Cluster keys for tests (base64, as a cluster file holds them). Never use them elsewhere.
public enum TestKeys {
    /// The key of the test clusters started from cluster files.
    public static let cluster = "q0Vq1yq4m6+0m0J7Gx5o8U2bTqk3yQmD2m4JvYcC8nE="
    /// Another valid key, for rotations and for nodes that must stay outside.
    public static let other = "mZr3V1hH0Vq0pQq3b6Qw7kI9s2f1Zy8dT5cXe4uJ0aA="
}
