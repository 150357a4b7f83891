import Foundation

/// Free loopback ports, found by binding port 0 for both UDP and TCP.
public enum FreePorts {
    public static func take(_ count: Int) throws -> [UInt16] {
        var ports: [UInt16] = []
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        while ports.count < count {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcp, $0, &length) } }
            sockets.append(tcp)
            let port = UInt16(bigEndian: address.sin_port)
            // The same port must be free for UDP too.
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(udp)
            if bound == 0 && port < 64000 { ports.append(port) }
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
