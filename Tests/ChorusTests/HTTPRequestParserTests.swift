import ChorusAdmin
import ChorusTestSupport
import Testing

/// The HTTP/1.x request parser, without sockets.
@Suite("HTTP request parser")
struct HTTPRequestParserTests {
    /// Feeds `pieces` one after the other and collects every event, stopping at a failure.
    static func events(_ pieces: [[UInt8]], limits: HTTPRequestParser.Limits = .init()) -> [HTTPRequestParser.Event] {
        var parser = HTTPRequestParser(limits: limits)
        var events: [HTTPRequestParser.Event] = []
        for piece in pieces {
            parser.append(piece)
            while let event = parser.next() {
                events.append(event)
                if case .failure = event { return events }
            }
        }
        return events
    }

    static func events(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> [HTTPRequestParser.Event] {
        events([Array(text.utf8)], limits: limits)
    }

    static func requests(_ events: [HTTPRequestParser.Event]) -> [HTTPRequest] {
        events.compactMap { if case .request(let request) = $0 { request } else { nil } }
    }

    /// The status of the failure that `text` ends in, nil when it does not fail.
    static func failure(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> HTTPError? {
        failure([Array(text.utf8)], limits: limits)
    }

    static func failure(_ pieces: [[UInt8]], limits: HTTPRequestParser.Limits = .init()) -> HTTPError? {
        if case .failure(let error) = events(pieces, limits: limits).last { return error }
        return nil
    }

    /// Three pipelined requests: a GET, a POST with Content-Length, a chunked PUT with an
    /// extension and a trailer.
    static let pipeline = Array(("GET /v1/members/n%31?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"
        + "POST /v1/join HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\n{\"a\": [1, 2]}"
        + "PUT /v1/debug/faults HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5;name=value\r\n{\"los\r\na\r\ns\": 0.125}\r\n0\r\nX-Trailer: t\r\n\r\n").utf8)

    @Test("given a GET, then method, target, path, version, fields and keep-alive are read")
    func simpleGet() throws {
        let requests = Self.requests(Self.events("GET /v1/health?verbose=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Empty:\r\nX-Spaced: \t a b \t\r\n\r\n"))
        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.method == "GET" && request.target == "/v1/health?verbose=1" && request.path == "/v1/health")
        #expect(request.minorVersion == 1 && request.keepAlive && request.body.isEmpty)
        #expect(request.headers.map(\.name) == ["Host", "X-Empty", "X-Spaced"])
        #expect(request.header("host") == "127.0.0.1" && request.header("x-empty") == "" && request.header("X-SPACED") == "a b")
    }

    @Test("given three pipelined requests in one piece, then they come out in order, bodies whole, chunked decoded")
    func pipelined() throws {
        let requests = Self.requests(Self.events([Self.pipeline]))
        #expect(requests.map(\.method) == ["GET", "POST", "PUT"])
        #expect(requests.map(\.path) == ["/v1/members/n%31", "/v1/join", "/v1/debug/faults"])
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["", "{\"a\": [1, 2]}", "{\"loss\": 0.125}"])
    }

    @Test("given the pipeline split at every byte boundary, or fed byte by byte, then the same requests come out")
    func everySplitGivesTheSameRequests() {
        let whole = Self.events([Self.pipeline])
        #expect(whole.count == 3)
        for split in 0...Self.pipeline.count {
            let pieces = [Array(Self.pipeline[..<split]), Array(Self.pipeline[split...])]
            #expect(Self.events(pieces) == whole, "split at \(split)")
        }
        #expect(Self.events(Self.pipeline.map { [$0] }) == whole)
    }

    @Test("given a request and the start of the next, then the first comes out and the rest waits")
    func partialRequestWaits() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHo".utf8))
        let first = parser.next()
        let none = parser.next()
        #expect(first.map { if case .request(let request) = $0 { request.target } else { "" } } == "/")
        #expect(none == nil && parser.hasPartialRequest)
        parser.append(Array("st: a\r\n\r\n".utf8))
        let second = parser.next()
        #expect(second.map { if case .request(let request) = $0 { request.target } else { "" } } == "/b")
        #expect(!parser.hasPartialRequest)
    }

    @Test("given empty lines before a request line and bare LF line ends, then the request is read")
    func lenientLineEnds() {
        let requests = Self.requests(Self.events("\r\n\n\r\nGET / HTTP/1.1\nHost: a\nContent-Length: 2\n\nhi"))
        #expect(requests.count == 1)
        #expect(requests.first?.body == Array("hi".utf8))
    }

    @Test("given Connection fields and versions, then keep-alive follows HTTP/1.1 and HTTP/1.0 rules", arguments: [
        ("HTTP/1.1", "", true),
        ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: keep-alive, Close\r\n", false),
        ("HTTP/1.0", "", false),
        ("HTTP/1.0", "Connection: Keep-Alive\r\n", true),
        ("HTTP/1.2", "", true),
    ])
    func keepAlive(version: String, field: String, expected: Bool) {
        let requests = Self.requests(Self.events("GET / \(version)\r\nHost: a\r\n\(field)\r\n"))
        #expect(requests.first?.keepAlive == expected)
    }

    @Test("given Expect: 100-continue, then the parser asks for a 100 once, before the body")
    func expectContinue() {
        var parser = HTTPRequestParser()
        parser.append(Array("POST /v1/join HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        let beforeBody = parser.next()
        let first = parser.takeContinueRequest()
        let second = parser.takeContinueRequest()
        #expect(beforeBody == nil && first && !second)
        parser.append(Array("{}".utf8))
        let request = parser.next()
        let afterBody = parser.takeContinueRequest()
        #expect(request != nil && !afterBody)
    }

    @Test("given heads and bodies at and past the limits, then the limit passes and one byte more is 431 or 413")
    func limits() {
        let limits = HTTPRequestParser.Limits(headBytes: 100, bodyBytes: 10)
        func head(_ length: Int) -> String {
            let start = "GET / HTTP/1.1\r\nHost: a\r\nX: "
            return start + String(repeating: "x", count: length - start.utf8.count - 2) + "\r\n"
        }
        #expect(Self.requests(Self.events(head(100) + "\r\n", limits: limits)).count == 1)
        #expect(Self.failure(head(101) + "\r\n", limits: limits)?.status == .requestHeaderFieldsTooLarge)
        // Without the end of the head, the parser gives up once the limit and room for the blank
        // line are passed, or a line ends past the limit.
        #expect(Self.failure(head(101), limits: limits)?.status == .requestHeaderFieldsTooLarge)
        #expect(Self.failure(String(repeating: "G", count: 102), limits: limits) == nil)
        #expect(Self.failure(String(repeating: "G", count: 103), limits: limits)?.status == .requestHeaderFieldsTooLarge)
        // At the limit, the blank line may come in a later piece.
        #expect(Self.requests(Self.events([Array((head(100) + "\r").utf8), Array("\n".utf8)], limits: limits)).count == 1)

        let post = "POST / HTTP/1.1\r\nHost: a\r\n"
        #expect(Self.requests(Self.events(post + "Content-Length: 10\r\n\r\n0123456789", limits: limits)).count == 1)
        let tooLong = Self.failure(post + "Content-Length: 11\r\n\r\n", limits: limits)
        #expect(tooLong?.status == .contentTooLarge, "refused from the length alone, before the body comes")
        let chunked = post + "Transfer-Encoding: chunked\r\n\r\n"
        #expect(Self.requests(Self.events(chunked + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", limits: limits)).count == 1)
        #expect(Self.failure(chunked + "5\r\n01234\r\n6\r\n", limits: limits)?.status == .contentTooLarge)
        #expect(Self.failure(chunked + "fffffffffffffffff\r\n", limits: limits)?.status == .contentTooLarge)
        #expect(Self.failure(chunked + "0\r\n" + String(repeating: "T: x\r\n", count: 20), limits: limits)?.status == .requestHeaderFieldsTooLarge)
    }

    @Test("given the default limits, then 16 KiB of head and 64 KiB of body are accepted")
    func defaultLimits() {
        let limits = HTTPRequestParser.Limits()
        #expect(limits.headBytes == 16 * 1024 && limits.bodyBytes == 64 * 1024)
        let body = [UInt8](repeating: 0x41, count: 64 * 1024)
        let requests = Self.requests(Self.events([Array("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 65536\r\n\r\n".utf8), body]))
        #expect(requests.first?.body == body)
        #expect(Self.failure("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n")?.status == .contentTooLarge)
        #expect(Self.failure("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "x", count: 16 * 1024))\r\n\r\n")?.status == .requestHeaderFieldsTooLarge)
    }

    @Test("given a malformed request, then it is refused with 400 and the reason", arguments: [
        ("GET /\r\n\r\n", "malformed request line"),
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        ("GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", "malformed request line"),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        ("GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request target"),
        ("GET /\u{1} HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request target"),
        ("GET / HTTX/1.1\r\nHost: a\r\n\r\n", "malformed HTTP version"),
        ("GET / HTTP/1.x\r\nHost: a\r\n\r\n", "malformed HTTP version"),
        ("GET / HTTP/11\r\nHost: a\r\n\r\n", "malformed HTTP version"),
        ("GET / HTTP/1.1\r\n\r\n", "needs a Host"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host"),
        ("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", "without a colon"),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "malformed header field name"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", "folded"),
        ("GET / HTTP/1.1\r\nHost: a\u{1}b\r\n\r\n", "control character"),
        ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "bare CR"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", "invalid Content-Length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n", "invalid Content-Length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "invalid Content-Length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "both"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "must end with chunked"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n", "longer than its size"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\rx", "not followed by CRLF"),
    ])
    func malformed(text: String, reason: String) {
        let error = Self.failure(text)
        #expect(error?.status == .badRequest, "\(String(describing: error))")
        #expect(error?.message.contains(reason) == true, "\(String(describing: error))")
    }

    @Test("given HTTP/2, HTTP/3 or HTTP/0.9, then the answer is 505; an unknown transfer coding is 501")
    func unsupported() {
        for version in ["HTTP/2.0", "HTTP/3", "HTTP/0.9"] {
            #expect(Self.failure("GET / \(version)\r\nHost: a\r\n\r\n")?.status == .httpVersionNotSupported, "\(version)")
        }
        #expect(Self.failure("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")?.status == .httpVersionNotSupported)
        #expect(Self.failure("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.status == .notImplemented)
    }

    @Test("given a refusal, then the parser stays failed whatever comes next")
    func failureIsFinal() {
        var parser = HTTPRequestParser()
        parser.append(Array("BAD\r\n\r\n".utf8))
        let first = parser.next()
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        let again = parser.next()
        #expect(first != nil && again == first)
        #expect(!parser.hasPartialRequest)
    }

    @Test("given random bytes in random pieces, then the parser never traps and ends in requests, a refusal or a wait")
    func randomBytes() {
        var random = SplitMix64(seed: testSeed("HTTP parser random bytes", fixed: 0x4177))
        let alphabet = Array("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n0123456789abcdef;: \t\n".utf8)
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0..<300, using: &random) {
                bytes.append(Bool.random(using: &random) ? alphabet.randomElement(using: &random)! : random.byte())
            }
            var pieces: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let length = Int.random(in: 1...40, using: &random)
                pieces.append(Array(bytes[index..<min(bytes.count, index + length)]))
                index += length
            }
            _ = Self.events(pieces, limits: .init(headBytes: 128, bodyBytes: 64))
        }
    }

    @Test("given absolute-form and query targets, then the path leaves out scheme, authority and query")
    func paths() {
        #expect(HTTPRequest(method: "GET", target: "/v1/self?x=1&y").path == "/v1/self")
        #expect(HTTPRequest(method: "GET", target: "http://127.0.0.1:8301/v1/self?x").path == "/v1/self")
        #expect(HTTPRequest(method: "GET", target: "http://127.0.0.1:8301").path == "/")
    }
}
