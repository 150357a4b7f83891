import ChorusLoop
import Dispatch
import Foundation

/// A plain TCP client for bytes no HTTP client would send: blocking socket calls, run on Dispatch
/// threads so a test waiting on it never holds a thread of Swift's cooperative pool.
final class RawSocket: @unchecked Sendable {
    // Safety of @unchecked Sendable: `fd` is set once; each test uses a socket from one task at a time.
    private let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Connects to `address`; every later read waits at most `timeout` seconds per call. The default
    /// is long because an answer made by a task waits for a thread of Swift's cooperative pool, which
    /// the first seconds of a full test run on two cores keep busy; a test that expects silence
    /// passes a shorter one.
    init(_ address: SocketAddress, timeout: Double = 15) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard address.withSockAddr({ Glibc.connect(fd, $0, $1) }) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "connect: \(reason)")
        }
    }

    deinit { Glibc.close(fd) }

    /// Writes every byte; false when the peer is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until the peer closes (or the read timeout passes): what came, and whether it closed.
    func readToEnd() async -> (text: String, closed: Bool) {
        let fd = self.fd
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 16 * 1024)
                var closed = false
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if count == 0 || (count < 0 && errno == ECONNRESET) { closed = true; break }
                    if count < 0 { break }
                    received += buffer[..<count]
                }
                continuation.resume(returning: (String(decoding: received, as: UTF8.self), closed))
            }
        }
    }

    /// Reads until `text` contains `count` whole answers with `Content-Length`, the peer closes,
    /// or the read timeout passes.
    func readAnswers(_ count: Int) async -> String {
        let fd = self.fd
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 16 * 1024)
                while RawSocket.completeAnswers(in: received) < count {
                    let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if got <= 0 { break }
                    received += buffer[..<got]
                }
                continuation.resume(returning: String(decoding: received, as: UTF8.self))
            }
        }
    }

    /// Closes with a reset (SO_LINGER 0) instead of an orderly end of stream.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// How many whole answers (head and `Content-Length` body) `bytes` holds.
    static func completeAnswers(in bytes: [UInt8]) -> Int {
        var count = 0
        var rest = bytes[...]
        let separator = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self).lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            guard rest.count - (end.upperBound - rest.startIndex) >= length else { break }
            count += 1
            rest = rest[(end.upperBound + length)...]
        }
        return count
    }
}

/// The parts of one raw HTTP answer.
struct RawAnswer {
    var status: Int
    var headers: [String: String]
    var body: String

    /// The answers in `text`, in order (bodies cut by `Content-Length`).
    static func all(in text: String) -> [RawAnswer] {
        var answers: [RawAnswer] = []
        var rest = Substring(text)
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyBytes = Array(rest[end.upperBound...].utf8.prefix(length))
            answers.append(RawAnswer(status: status, headers: headers, body: String(decoding: bodyBytes, as: UTF8.self)))
            rest = Substring(String(decoding: Array(rest[end.upperBound...].utf8.dropFirst(length)), as: UTF8.self))
        }
        return answers
    }
}
