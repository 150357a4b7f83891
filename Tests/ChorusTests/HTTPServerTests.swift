import Chorus
import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import Foundation
import Testing

/// A responder for the server specs: `/slow` answers from a task after a pause, `/big/N` answers
/// N KiB, anything else echoes method, target and body size at once.
struct EchoResponder: HTTPResponder {
    func respond(to request: HTTPRequest) -> HTTPHandling {
        if request.path == "/slow" {
            return .later {
                try? await Task.sleep(for: .milliseconds(50))
                return HTTPResponse(status: .ok, body: Array("slow".utf8))
            }
        }
        if request.path.hasPrefix("/big/"), let kib = Int(request.path.dropFirst(5)) {
            return .now(HTTPResponse(status: .ok, body: [UInt8](repeating: 0x2E, count: kib * 1024)))
        }
        return .now(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")],
                                 body: Array("\(request.method) \(request.target) \(request.body.count)".utf8)))
    }

    func errorResponse(status: HTTPStatus, message: String) -> HTTPResponse {
        HTTPResponse(status: status, body: Array(message.utf8))
    }
}

/// Chorus's HTTP/1.1 server on real loopback sockets.
@Suite("HTTP server", .timeLimit(.minutes(1)))
struct HTTPServerTests {
    static func withServer(idleTimeoutMillis: UInt64 = 30_000, maxConnections: Int = 64,
                           _ body: (SocketAddress, HTTPServer) async throws -> Void) async throws {
        let server = HTTPServer(configuration: .init(idleTimeoutMillis: idleTimeoutMillis, maxConnections: maxConnections,
                                                     serverName: "test/1", threadName: "test-http"),
                                responder: EchoResponder())
        let address = try await server.start(address: try SocketAddress("127.0.0.1:0"))
        #expect(server.boundAddress == address && address.port != 0)
        do {
            try await body(address, server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        #expect(server.boundAddress == nil)
    }

    @Test("given pipelined requests, some answered later from a task, then the answers come back in request order")
    func pipelinedAnswersInOrder() async throws {
        try await Self.withServer { address, _ in
            let socket = try RawSocket(address)
            socket.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                        + "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc")
            let received = await socket.readToEnd()
            let answers = RawAnswer.all(in: received.text)
            #expect(answers.map(\.body) == ["slow", "GET /a 0", "slow", "POST /b 3"])
            #expect(answers.map { $0.headers["connection"] } == [nil, nil, nil, "close"])
            #expect(answers.allSatisfy { $0.headers["server"] == "test/1" })
            #expect(received.closed)
        }
    }

    @Test("given a kept-alive connection, then it answers request after request; HTTP/1.0 closes unless asked to keep alive")
    func keepAlive() async throws {
        try await Self.withServer { address, _ in
            let socket = try RawSocket(address)
            for index in 0..<3 {
                socket.send("GET /\(index) HTTP/1.1\r\nHost: a\r\n\r\n")
                let text = await socket.readAnswers(1)
                #expect(RawAnswer.all(in: text).map(\.body) == ["GET /\(index) 0"])
                try await Task.sleep(for: .milliseconds(20))
            }
            let old = try RawSocket(address)
            old.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let kept = RawAnswer.all(in: await old.readAnswers(1))
            #expect(kept.first?.headers["connection"] == "keep-alive")
            old.send("GET /old HTTP/1.0\r\n\r\n")
            let last = await old.readToEnd()
            #expect(last.closed && RawAnswer.all(in: last.text).first?.headers["connection"] == "close")
        }
    }

    @Test("given a client that sends nothing, or half a request, then the server closes it after the idle timeout (408 for the half)")
    func idleTimeout() async throws {
        try await Self.withServer(idleTimeoutMillis: 300) { address, _ in
            let silent = try RawSocket(address)
            let half = try RawSocket(address)
            half.send("GET / HTTP/1.1\r\nHo")
            let quiet = await silent.readToEnd()
            #expect(quiet.closed && quiet.text.isEmpty)
            let cut = await half.readToEnd()
            #expect(cut.closed)
            #expect(RawAnswer.all(in: cut.text).first?.status == 408)
        }
    }

    @Test("given a client that keeps asking for longer than the idle timeout, then its connection stays open")
    func activeClientIsNotIdle() async throws {
        // Requests 50 ms apart for 1.5 idle timeouts: every one is answered on the same connection.
        // The promise holds for a client whose pauses stay under the timeout; when this test is
        // itself starved of CPU for that long (at the start of a loaded run), the server is right to
        // close, so that attempt proves nothing and is made again.
        try await Self.withServer(idleTimeoutMillis: 2_000) { address, _ in
            var judged = false
            for attempt in 1...5 where !judged {
                let start = ContinuousClock.now
                let busy = try RawSocket(address)
                var lastAnswer = start
                var answered = 0
                var refused: String?
                // Until the answers span more than the idle timeout (a starved sleep may overshoot).
                while lastAnswer - start <= .milliseconds(2_200), ContinuousClock.now - start < .seconds(10) {
                    busy.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                    let text = await busy.readAnswers(1)
                    guard RawAnswer.all(in: text).first?.status == 200 else {
                        refused = text
                        break
                    }
                    answered += 1
                    lastAnswer = ContinuousClock.now
                    try await Task.sleep(for: .milliseconds(50))
                }
                let pause = ContinuousClock.now - lastAnswer
                if refused != nil && pause >= .milliseconds(1_500) {
                    print("activeClientIsNotIdle: attempt \(attempt) paused \(pause) (the test was starved); again")
                    continue
                }
                judged = true
                #expect(refused == nil, "answer \(answered + 1), \(pause) after the last one: \(refused ?? "")")
                #expect(lastAnswer - start > .seconds(2), "answers span more than the idle timeout (\(answered) answers)")
            }
            #expect(judged, "five attempts were all starved of CPU")
        }
    }

    @Test("given as many clients as the cap, then one more gets 503 and is closed, and a place frees when one leaves")
    func connectionCap() async throws {
        try await Self.withServer(maxConnections: 2) { address, _ in
            var held: [RawSocket] = []
            for _ in 0..<2 {
                let socket = try RawSocket(address)
                socket.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                _ = await socket.readAnswers(1)
                held.append(socket)
            }
            let extra = try RawSocket(address)
            let refused = await extra.readToEnd()
            #expect(refused.closed && RawAnswer.all(in: refused.text).first?.status == 503, "\(refused.text)")
            held.removeFirst().reset()
            // The server learns of the reset on its next read: a new client is served once it has.
            var status: Int?
            for _ in 0..<100 where status != 200 {
                let next = try RawSocket(address)
                next.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                status = RawAnswer.all(in: await next.readToEnd().text).first?.status
                if status != 200 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(status == 200)
        }
    }

    @Test("given Expect: 100-continue, then the server answers 100 before the body and the request after it")
    func expectContinue() async throws {
        try await Self.withServer { address, _ in
            let socket = try RawSocket(address)
            socket.send("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            let interim = await socket.readAnswers(1)
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n\r\n"), "\(interim)")
            socket.send("{}")
            let answer = RawAnswer.all(in: await socket.readAnswers(1))
            #expect(answer.first?.body == "PUT /x 2")
        }
    }

    @Test("given a client that pipelines large answers without reading, then the server waits for it and every answer arrives whole")
    func slowReader() async throws {
        try await Self.withServer { address, _ in
            let socket = try RawSocket(address, timeout: 10)
            let count = 40
            for _ in 0..<count { socket.send("GET /big/256 HTTP/1.1\r\nHost: a\r\n\r\n") }
            try await Task.sleep(for: .milliseconds(200))
            let text = await socket.readAnswers(count)
            let answers = RawAnswer.all(in: text)
            #expect(answers.count == count)
            #expect(answers.allSatisfy { $0.status == 200 && $0.body.utf8.count == 256 * 1024 })
        }
    }

    @Test("given open connections, when the server stops, then they are closed and the port is free again")
    func stopClosesConnections() async throws {
        let server = HTTPServer(configuration: .init(serverName: "test/1"), responder: EchoResponder())
        let address = try await server.start(address: try SocketAddress("127.0.0.1:0"))
        let socket = try RawSocket(address)
        socket.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = await socket.readAnswers(1)
        await server.stop()
        let end = await socket.readToEnd()
        #expect(end.closed)
        await server.stop()
        let again = HTTPServer(configuration: .init(serverName: "test/1"), responder: EchoResponder())
        let rebound = try await again.start(address: address)
        #expect(rebound == address)
        await again.stop()
    }
}

/// The admin server against clients that misbehave.
@Suite("Admin API under abuse", .timeLimit(.minutes(1)))
struct AdminAbuseTests {
    @Test("given garbage, an oversized head, an oversized body, slow and idle clients and abrupt disconnects, then the server never falls over and keeps answering /v1/health")
    func survivesMisbehavingClients() async throws {
        try await AdminAPITests.withAdmin { address, node in
            try await node.start()
            let admin = try SocketAddress(address)
            func healthy() async throws {
                let socket = try RawSocket(admin)
                socket.send("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let answer = RawAnswer.all(in: await socket.readToEnd().text)
                #expect(answer.first?.status == 200 && answer.first?.body.contains("\"ok\"") == true)
            }

            // An idle client and a slow one stay connected throughout.
            let idle = try RawSocket(admin)
            let slow = try RawSocket(admin)
            let slowRequest = Array("GET /v1/members HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
            slow.send(Array(slowRequest[..<10]))

            var random = SplitMix64(seed: testSeed("admin garbage", fixed: 0x6A5B))
            for _ in 0..<20 {
                let socket = try RawSocket(admin)
                socket.send(random.bytes(count: Int.random(in: 1..<2000, using: &random)) + Array("\r\n\r\n".utf8))
                let answer = await socket.readToEnd()
                let status = RawAnswer.all(in: answer.text).first?.status
                #expect(answer.closed && [400, 431, 501, 505].contains(status), "\(answer.text.prefix(200))")
            }
            try await healthy()

            let bigHead = try RawSocket(admin)
            bigHead.send("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 20_000))\r\n\r\n")
            let tooLarge = RawAnswer.all(in: await bigHead.readToEnd().text).first
            #expect(tooLarge?.status == 431 && tooLarge?.body.contains("request_header_fields_too_large") == true, "\(String(describing: tooLarge))")

            let bigBody = try RawSocket(admin)
            bigBody.send("POST /v1/join HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n")
            let refused = RawAnswer.all(in: await bigBody.readToEnd().text).first
            #expect(refused?.status == 413 && refused?.body.contains("content_too_large") == true, "\(String(describing: refused))")

            let wrongVersion = try RawSocket(admin)
            wrongVersion.send("GET /v1/health HTTP/2.0\r\nHost: x\r\n\r\n")
            let unsupported = RawAnswer.all(in: await wrongVersion.readToEnd().text).first
            #expect(unsupported?.status == 505 && unsupported?.body.contains("http_version_not_supported") == true)

            // Abrupt ends: mid-request, right after a request, with a reset while an answer is computed.
            for cut in [5, slowRequest.count] {
                let socket = try RawSocket(admin)
                socket.send(Array(slowRequest[..<cut]))
            }
            for _ in 0..<10 {
                let socket = try RawSocket(admin)
                socket.send("GET /v1/members HTTP/1.1\r\nHost: x\r\n\r\nPOST /v1/join HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n{\"addr")
                socket.reset()
            }
            try await healthy()

            for index in 10..<slowRequest.count {
                slow.send([slowRequest[index]])
                if index % 8 == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            let slowAnswer = RawAnswer.all(in: await slow.readToEnd().text).first
            #expect(slowAnswer?.status == 200 && slowAnswer?.body.contains("\"n1\"") == true)
            idle.send("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let idleAnswer = RawAnswer.all(in: await idle.readToEnd().text).first
            #expect(idleAnswer?.status == 200, "a client that waited is still served")
            try await healthy()
        }
    }
}
