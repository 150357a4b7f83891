import ChorusLoop
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for the commands that ask a node's admin API (plain HTTP, numeric
/// address, one request per connection).
///
/// It is a few system calls instead of URLSession: FoundationNetworking would bring libcurl and a
/// TLS stack into the `chorus` binary, and with them several megabytes into every agent's memory,
/// for a request that never leaves the machine's admin address.
public enum AdminHTTPClient {
    /// Why a request got no answer, e.g. `connect to 127.0.0.1:8301: Connection refused`.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// A status and the whole body (chunked answers decoded).
    public struct Answer: Sendable {
        public var status: Int
        public var body: [UInt8]
        public init(status: Int, body: [UInt8]) {
            self.status = status
            self.body = body
        }
    }

    /// Sends `method path` (with `body` as JSON, if any, and the header fields `headers`) to
    /// `address` and reads the whole answer; each system call waits at most `timeout` seconds.
    public static func request(_ method: String, _ path: String, to address: SocketAddress, body: [UInt8]? = nil,
                               headers: [(name: String, value: String)] = [], timeout: Double) throws(Failure) -> Answer {
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errorText())") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let connected = address.withSockAddr { pointer, length in connect(fd, pointer, length) }
        guard connected == 0 else { throw Failure(description: "connect to \(address): \(errorText())") }

        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\nAccept: application/json\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        var message = Array((head + "\r\n").utf8)
        if let body { message += body }
        var sent = 0
        while sent < message.count {
            let count = message[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure(description: "send to \(address): \(errorText())") }
            sent += count
        }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw Failure(description: "read from \(address): \(errorText())") }
            received += buffer[..<count]
            guard received.count <= 64 * 1024 * 1024 else { throw Failure(description: "answer larger than 64 MiB") }
        }
        return try parse(received)
    }

    /// Splits a complete HTTP/1.1 answer into its status and body (Content-Length, chunked, or
    /// up to the end of the connection).
    public static func parse(_ bytes: [UInt8]) throws(Failure) -> Answer {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.firstRange(of: separator) else { throw Failure(description: "incomplete HTTP answer") }
        let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
        let statusLine = lines.first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure(description: "not an HTTP answer: \"\(statusLine.prefix(80))\"")
        }
        var chunked = false
        var length: Int?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if name == "transfer-encoding" { chunked = value.lowercased().contains("chunked") }
            if name == "content-length" {
                guard let parsed = Int(value), parsed >= 0 else { throw Failure(description: "malformed Content-Length \"\(value.prefix(20))\"") }
                length = parsed
            }
        }
        var body = Array(bytes[end.upperBound...])
        if chunked {
            body = try dechunk(body)
        } else if let length {
            guard body.count >= length else { throw Failure(description: "answer cut short (\(body.count) of \(length) bytes)") }
            body = Array(body.prefix(length))
        }
        return Answer(status: status, body: body)
    }

    private static func dechunk(_ bytes: [UInt8]) throws(Failure) -> [UInt8] {
        var body: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8)) else {
                throw Failure(description: "malformed chunked answer")
            }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size >= 0, size <= bytes.count else {
                throw Failure(description: "malformed chunk size \"\(sizeText.prefix(20))\"")
            }
            index = lineEnd.upperBound
            if size == 0 { return body }
            guard size + 2 <= bytes.count - index else { throw Failure(description: "chunked answer cut short") }
            body += bytes[index..<(index + size)]
            index += size + 2
        }
    }

    private static func errorText() -> String { errnoDescription(errno) }
}
