/// An incremental HTTP/1.x request parser, without I/O: bytes go in as they arrive, in pieces of
/// any size, and whole requests come out in order (pipelining).
///
/// It reads the request line and header fields (ending lines with CRLF or a bare LF), then a body
/// of `Content-Length` bytes or a `Transfer-Encoding: chunked` body, which it decodes (trailer
/// fields are read and dropped). It refuses, with the status to answer:
/// - a request line and header fields longer than `Limits.headBytes` (431), or trailer fields
///   longer than that (431);
/// - a body longer than `Limits.bodyBytes` (413), said by `Content-Length` before it is read;
/// - an HTTP version other than 1.x (505); a transfer coding other than `chunked` (501);
/// - anything malformed (400): a bad request line, a field without a colon or with a space before
///   it, a folded field, control characters, a bare CR, a missing or repeated `Host` in
///   HTTP/1.1, a bad or conflicting `Content-Length`, `Content-Length` with `Transfer-Encoding`,
///   a bad chunk.
/// After a refusal it stays failed: the stream can no longer be trusted to be cut right.
public struct HTTPRequestParser: Sendable {
    /// How much of a request the parser holds.
    public struct Limits: Sendable, Equatable {
        /// Request line and header fields, line ends included.
        public var headBytes: Int
        /// The body, after chunked decoding.
        public var bodyBytes: Int

        public init(headBytes: Int = 16 * 1024, bodyBytes: Int = 64 * 1024) {
            self.headBytes = headBytes
            self.bodyBytes = bodyBytes
        }
    }

    /// What `next()` found.
    public enum Event: Sendable, Equatable {
        case request(HTTPRequest)
        case failure(HTTPError)
    }

    private enum State: Sendable, Equatable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPError)
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    /// The first byte of `buffer` not consumed yet.
    private var start = 0
    /// How far past `start` the search for the end of the head or trailers has gone.
    private var scanned = 0
    /// Where the line being scanned began, relative to `start`.
    private var lineStart = 0
    private var state = State.head
    /// The request whose body is being read.
    private var current: HTTPRequest?
    private var continueWanted = false

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Adds bytes that arrived.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes that arrived.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Whether part of a request has arrived and the rest has not.
    public var hasPartialRequest: Bool {
        if case .failed = state { return false }
        return state != .head || start < buffer.count
    }

    /// True once after the head of a request with `Expect: 100-continue` was read and its body
    /// has not arrived: the server may answer `100 Continue` so the client sends it.
    public mutating func takeContinueRequest() -> Bool {
        defer { continueWanted = false }
        return continueWanted
    }

    /// The next whole request, or the reason the stream is refused; nil while more bytes are needed.
    public mutating func next() -> Event? {
        while true {
            switch state {
            case .failed(let error):
                return .failure(error)
            case .head:
                guard let headEnd = findBlankLine(limit: limits.headBytes, tooLarge: "the request line and header fields") else {
                    return stateFailure()
                }
                do throws(HTTPError) {
                    let head = buffer[start..<headEnd.contentEnd]
                    start = headEnd.next
                    let (request, framing) = try Self.parseHead(head, limits: limits)
                    current = request
                    switch framing {
                    case .none: return complete()
                    case .length(let length):
                        if length == 0 { return complete() }
                        state = .fixedBody(remaining: length)
                        continueWanted = request.expectsContinue
                    case .chunked:
                        state = .chunkSize
                        continueWanted = request.expectsContinue
                    }
                } catch {
                    return fail(error)
                }
            case .fixedBody(let remaining):
                let count = min(remaining, buffer.count - start)
                guard count > 0 else { return nil }
                continueWanted = false
                current!.body += buffer[start..<(start + count)]
                start += count
                if count == remaining { return complete() }
                state = .fixedBody(remaining: remaining - count)
            case .chunkSize:
                guard let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    if buffer.count - start > 1024 { return fail(HTTPError(.badRequest, "chunk size line too long")) }
                    return nil
                }
                continueWanted = false
                var line = buffer[start..<newline]
                start = newline + 1
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                let sizeDigits = line.prefix { $0 != UInt8(ascii: ";") }.trimmingSpaceBytes()
                guard !sizeDigits.isEmpty, sizeDigits.allSatisfy({ ASCII.hexValue($0) != nil }) else {
                    return fail(HTTPError(.badRequest, "invalid chunk size \"\(String(decoding: line.prefix(20), as: UTF8.self))\""))
                }
                let digits = sizeDigits.drop { $0 == UInt8(ascii: "0") }
                guard digits.count <= 8, let size = Int(String(decoding: digits.isEmpty ? [UInt8(ascii: "0")] : Array(digits), as: UTF8.self), radix: 16),
                      current!.body.count + size <= limits.bodyBytes else {
                    return fail(HTTPError(.contentTooLarge, "the body is larger than \(limits.bodyBytes) bytes"))
                }
                if size == 0 {
                    state = .trailers
                    scanned = 0
                    lineStart = 0
                } else {
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let count = min(remaining, buffer.count - start)
                guard count > 0 else { return nil }
                current!.body += buffer[start..<(start + count)]
                start += count
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            case .chunkDataEnd:
                guard start < buffer.count else { return nil }
                if buffer[start] == UInt8(ascii: "\n") {
                    start += 1
                } else if buffer[start] == UInt8(ascii: "\r") {
                    guard start + 1 < buffer.count else { return nil }
                    guard buffer[start + 1] == UInt8(ascii: "\n") else { return fail(HTTPError(.badRequest, "chunk data not followed by CRLF")) }
                    start += 2
                } else {
                    return fail(HTTPError(.badRequest, "chunk data longer than its size"))
                }
                state = .chunkSize
            case .trailers:
                guard let end = findBlankLine(limit: limits.headBytes, tooLarge: "the trailer fields") else {
                    return stateFailure()
                }
                start = end.next
                return complete()
            }
        }
    }

    // MARK: Steps

    private mutating func complete() -> Event {
        let request = current!
        current = nil
        state = .head
        scanned = 0
        lineStart = 0
        continueWanted = false
        return .request(request)
    }

    private mutating func fail(_ error: HTTPError) -> Event {
        state = .failed(error)
        current = nil
        continueWanted = false
        return .failure(error)
    }

    /// nil while waiting for bytes, the failure once `findBlankLine` has failed.
    private func stateFailure() -> Event? {
        if case .failed(let error) = state { return .failure(error) }
        return nil
    }

    /// Finds the empty line that ends a head (or trailers), skipping empty lines before a request
    /// line. Returns where the content ends and where the next part begins; nil while incomplete
    /// (or after failing on `limit`, with `state` set to the failure).
    private mutating func findBlankLine(limit: Int, tooLarge: String) -> (contentEnd: Int, next: Int)? {
        while start + scanned < buffer.count {
            let position = start + scanned
            scanned += 1
            guard buffer[position] == UInt8(ascii: "\n") else { continue }
            let line = buffer[(start + lineStart)..<position]
            let empty = line.isEmpty || (line.count == 1 && line.first == UInt8(ascii: "\r"))
            if empty && lineStart == 0 && state == .head {
                // Empty lines before a request line are ignored (RFC 9112, 2.2).
                start = position + 1
                scanned = 0
                continue
            }
            if empty {
                guard lineStart <= limit else { break }
                let contentEnd = start + lineStart
                scanned = 0
                lineStart = 0
                return (contentEnd, position + 1)
            }
            lineStart = scanned
        }
        // Content past the limit, or so many bytes without an end that it must be (the blank line
        // takes at most 2).
        if lineStart > limit || scanned > limit + 2 {
            let error = HTTPError(.requestHeaderFieldsTooLarge, "\(tooLarge) are longer than \(limit) bytes")
            state = .failed(error)
            current = nil
        }
        return nil
    }

    /// Drops consumed bytes once they are most of the buffer.
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            start = 0
        } else if start > 4096 && start > buffer.count / 2 {
            buffer.removeSubrange(..<start)
            start = 0
        }
    }

    // MARK: The head

    private enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
    }

    private static func parseHead(_ head: ArraySlice<UInt8>, limits: Limits) throws(HTTPError) -> (HTTPRequest, Framing) {
        var lines = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { throw HTTPError(.badRequest, "empty request") }
        if lines.contains(where: { $0.contains(UInt8(ascii: "\r")) }) {
            throw HTTPError(.badRequest, "a bare CR in the request head")
        }
        var request = try parseRequestLine(requestLine)
        for line in lines.dropFirst() {
            request.headers.append(try parseField(line))
        }
        return (request, try framing(of: request, limits: limits))
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPError) -> HTTPRequest {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        let shown = String(decoding: line.prefix(100), as: UTF8.self)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte) else {
            throw HTTPError(.badRequest, "malformed request line \"\(shown)\"")
        }
        let target = parts[1]
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
              target.first == UInt8(ascii: "/") || target.first == UInt8(ascii: "*")
                || target.starts(with: "http://".utf8) || target.starts(with: "https://".utf8) else {
            throw HTTPError(.badRequest, "malformed request target in \"\(shown)\"")
        }
        // HTTP/d.d; a major version other than 1 (HTTP/2.0, HTTP/3) is refused with 505.
        let version = Array(parts[2])
        let prefix = Array("HTTP/".utf8)
        let numbers = Array(version.dropFirst(prefix.count))
        let dotted = numbers.count == 3 && ASCII.isDigit(numbers[0]) && numbers[1] == UInt8(ascii: ".") && ASCII.isDigit(numbers[2])
        let bare = numbers.count == 1 && ASCII.isDigit(numbers[0])
        guard version.starts(with: prefix), dotted || bare else {
            throw HTTPError(.badRequest, "malformed HTTP version in \"\(shown)\"")
        }
        guard dotted, numbers[0] == UInt8(ascii: "1") else {
            throw HTTPError(.httpVersionNotSupported, "only HTTP/1.0 and HTTP/1.1 are served, not \(String(decoding: version, as: UTF8.self))")
        }
        return HTTPRequest(method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: target, as: UTF8.self),
                           minorVersion: Int(numbers[2] - UInt8(ascii: "0")))
    }

    private static func parseField(_ line: ArraySlice<UInt8>) throws(HTTPError) -> (name: String, value: String) {
        let shown = String(decoding: line.prefix(60), as: UTF8.self)
        if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
            throw HTTPError(.badRequest, "folded header field \"\(shown)\"")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPError(.badRequest, "header field without a colon \"\(shown)\"")
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            throw HTTPError(.badRequest, "malformed header field name \"\(shown)\"")
        }
        let value = line[(colon + 1)...].trimmingSpaceBytes()
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw HTTPError(.badRequest, "control character in header field \"\(String(decoding: name, as: UTF8.self))\"")
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    private static func framing(of request: HTTPRequest, limits: Limits) throws(HTTPError) -> Framing {
        let hosts = request.headers.filter { $0.name.lowercased() == "host" }
        if request.minorVersion >= 1 && hosts.count != 1 {
            throw HTTPError(.badRequest, hosts.isEmpty ? "an HTTP/1.1 request needs a Host field" : "more than one Host field")
        }
        let codings = request.headers.filter { $0.name.lowercased() == "transfer-encoding" }
            .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingSpaces().lowercased() }
        let lengths = request.headers.filter { $0.name.lowercased() == "content-length" }
            .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingSpaces() }
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw HTTPError(.badRequest, "both Content-Length and Transfer-Encoding") }
            guard codings.last == "chunked" else { throw HTTPError(.badRequest, "Transfer-Encoding must end with chunked") }
            guard codings.count == 1 else {
                throw HTTPError(.notImplemented, "transfer coding \"\(codings.joined(separator: ", "))\" is not supported; only chunked is")
            }
            return .chunked
        }
        guard let first = lengths.first else { return .none }
        guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.count <= 18,
              first.utf8.allSatisfy(ASCII.isDigit), let length = Int(first) else {
            throw HTTPError(.badRequest, "invalid Content-Length \"\(lengths.joined(separator: ", ").prefix(40))\"")
        }
        guard length <= limits.bodyBytes else {
            throw HTTPError(.contentTooLarge, "the body is larger than \(limits.bodyBytes) bytes")
        }
        return .length(length)
    }

    // MARK: Bytes

    /// A `tchar` of RFC 9110: the bytes of methods and field names.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension HTTPRequest {
    /// Whether the client waits for `100 Continue` before sending the body.
    var expectsContinue: Bool {
        minorVersion >= 1 && header("expect")?.lowercased() == "100-continue"
    }
}

extension Collection where Element == UInt8, SubSequence: BidirectionalCollection {
    fileprivate func trimmingSpaceBytes() -> SubSequence {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        let trimmedFront = drop(while: isSpace)
        var end = trimmedFront.endIndex
        while end > trimmedFront.startIndex, isSpace(trimmedFront[trimmedFront.index(before: end)]) {
            end = trimmedFront.index(before: end)
        }
        return trimmedFront[..<end]
    }
}
