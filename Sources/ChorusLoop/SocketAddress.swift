import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 socket address, parsed from `"host:port"` or `"[v6-host]:port"`.
///
/// Hosts are numeric addresses; `localhost` is accepted as `127.0.0.1`. Name resolution is left to
/// the caller on purpose: a cluster address that silently resolves differently on each node is a
/// source of split views.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host part as written back by libuv (`127.0.0.1`, `::1`).
    public let host: String
    public let port: UInt16
    /// Whether the address is IPv6.
    public let isIPv6: Bool

    public init(host: String, port: UInt16) throws(AddressError) {
        let numeric = host == "localhost" ? "127.0.0.1" : host
        var v4 = sockaddr_in()
        if uv_ip4_addr(numeric, Int32(port), &v4) == 0 {
            self.host = numeric
            self.port = port
            self.isIPv6 = false
            return
        }
        var v6 = sockaddr_in6()
        if uv_ip6_addr(numeric, Int32(port), &v6) == 0 {
            self.host = numeric
            self.port = port
            self.isIPv6 = true
            return
        }
        throw AddressError(input: "\(host):\(port)", reason: "host is not a numeric IPv4 or IPv6 address")
    }

    /// Parses `"host:port"`, `"[::1]:port"`.
    public init(_ text: String) throws(AddressError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                  text[text.index(after: close)...].hasPrefix(":") else {
                throw AddressError(input: text, reason: "expected [ipv6]:port")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw AddressError(input: text, reason: "expected host:port")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portPart) else {
            throw AddressError(input: text, reason: "port must be a number from 0 to 65535")
        }
        guard !hostPart.isEmpty else { throw AddressError(input: text, reason: "host is empty") }
        try self.init(host: String(hostPart), port: port)
    }

    /// Builds an address from a kernel `sockaddr` (as libuv hands them to callbacks).
    init?(_ raw: UnsafePointer<sockaddr>) {
        var name = [CChar](repeating: 0, count: 64)
        switch Int32(raw.pointee.sa_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(raw).assumingMemoryBound(to: sockaddr_in.self)
            guard uv_ip4_name(sin, &name, name.count) == 0 else { return nil }
            self.port = UInt16(bigEndian: sin.pointee.sin_port)
            self.isIPv6 = false
        case AF_INET6:
            let sin6 = UnsafeRawPointer(raw).assumingMemoryBound(to: sockaddr_in6.self)
            guard uv_ip6_name(sin6, &name, name.count) == 0 else { return nil }
            self.port = UInt16(bigEndian: sin6.pointee.sin6_port)
            self.isIPv6 = true
        default:
            return nil
        }
        self.host = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Reads an address through a libuv getter (`uv_tcp_getsockname`, `uv_tcp_getpeername`,
    /// `uv_udp_getsockname`); nil when the call fails.
    static func read(_ getter: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<Int32>) -> Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                getter(sa, &length) == 0 ? SocketAddress(sa) : nil
            }
        }
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether only this machine can reach the address: IPv4 127.0.0.0/8, IPv6 `::1`, or an
    /// IPv4-mapped loopback (`::ffff:127.0.0.1`). The wildcard addresses (`0.0.0.0`, `::`) are
    /// not loopback: they listen on every interface.
    public var isLoopback: Bool {
        if !isIPv6 {
            var v4 = sockaddr_in()
            _ = uv_ip4_addr(host, Int32(port), &v4)
            return UInt32(bigEndian: v4.sin_addr.s_addr) >> 24 == 127
        }
        var v6 = sockaddr_in6()
        _ = uv_ip6_addr(host, Int32(port), &v6)
        let bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
        let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
        let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        return bytes == loopback || (bytes.starts(with: mappedPrefix) && bytes[12] == 127)
    }

    /// Calls `body` with this address as a kernel `sockaddr` and its length.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        let length = socklen_t(isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        return try withSockAddr { try body($0, length) }
    }

    /// Calls `body` with this address as a kernel `sockaddr`.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>) throws -> R) rethrows -> R {
        if isIPv6 {
            var v6 = sockaddr_in6()
            _ = uv_ip6_addr(host, Int32(port), &v6)
            return try withUnsafePointer(to: &v6) { try body(UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self)) }
        } else {
            var v4 = sockaddr_in()
            _ = uv_ip4_addr(host, Int32(port), &v4)
            return try withUnsafePointer(to: &v4) { try body(UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self)) }
        }
    }
}

/// A socket address that could not be parsed; says what was given and what was expected.
public struct AddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public let input: String
    public let reason: String
    public var description: String { "invalid address \"\(input)\": \(reason)" }
}
