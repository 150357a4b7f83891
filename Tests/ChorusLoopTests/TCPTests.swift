@testable import ChorusLoop
import ChorusTestSupport
import Foundation
import Testing

@Suite("TCP: framing, batching, backpressure, errors", .timeLimit(.minutes(1)))
struct TCPTests {
    /// A listener on the loop that records every payload it receives.
    static func recordingServer(_ loop: EventLoop, options: TCPConnection.Options = .init(),
                                received: Recorder<[UInt8]>, closes: Recorder<String>? = nil,
                                accepted: Handoff<TCPConnection>? = nil) async throws -> SocketAddress {
        try await loop.submit {
            let listener = try TCPListener(on: loop, bind: loopback, connectionOptions: options)
            listener.onAccept = { connection in
                connection.onFrame = { received.append(payload(of: $0)) }
                connection.onClose = { closes?.append("\($0)") }
                connection.startReading()
                accepted?.put(connection)
            }
            return listener.localAddress
        }
    }

    @Test("given a connection, when 10,000 frames are sent in one burst, then all arrive in order in few writes")
    func burstIsBatched() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let address = try await Self.recordingServer(loop, received: received)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let count = 10_000
            let writes = try await loop.submit { () -> Int in
                for i in 0..<count {
                    let frame = lengthPrefixed(withUnsafeBytes(of: UInt32(i).bigEndian, Array.init))
                    #expect(client.send(frame) == .queued)
                }
                return client.writeCalls
            }
            #expect(writes < 10, "a burst is written in batches, not per frame")
            while received.count < count { try await Task.sleep(for: .milliseconds(5)) }
            let values = received.all.map { $0.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) } }
            #expect(values == (0..<UInt32(count)).map { $0 })
            let totalWrites = try await loop.submit { client.writeCalls }
            #expect(totalWrites < count / 10)
        }
    }

    @Test("given an idle connection, flushNow writes a frame at once; frames after it, while that write is in flight, gather into the next write")
    func flushNowWritesAtOnce() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let address = try await Self.recordingServer(loop, received: received)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let writes = try await loop.submit { () -> [Int] in
                var writes = [client.writeCalls]
                client.send(lengthPrefixed([1]))
                writes.append(client.writeCalls)          // queued for the flush before the loop blocks
                // When
                client.flushNow()
                writes.append(client.writeCalls)          // written now
                for value in UInt8(2)...UInt8(50) {
                    client.send(lengthPrefixed([value]))
                    client.flushNow()                     // the first write is still in flight
                }
                writes.append(client.writeCalls)
                return writes
            }
            // Then
            #expect(writes == [writes[0], writes[0], writes[0] + 1, writes[0] + 1], "write calls: \(writes)")
            while received.count < 50 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(received.all == (1...50).map { [UInt8($0)] })
            let total = try await loop.submit { client.writeCalls }
            #expect(total == writes[0] + 2, "the 49 later frames left in one write: \(total - writes[0]) writes")
        }
    }

    @Test("given frames queued behind a write in flight, when the sender closes after flush, then every frame arrives before the end of stream")
    func closeAfterFlushDeliversEverything() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let closes = Recorder<String>()
            let address = try await Self.recordingServer(loop, received: received, closes: closes)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let count = 200_000
            let refusedAfterClose = try await loop.submit { () -> TCPConnection.SendResult in
                for i in 0..<count {
                    #expect(client.send(lengthPrefixed(withUnsafeBytes(of: UInt32(i).bigEndian, Array.init))) == .queued)
                }
                client.closeAfterFlush()
                return client.send(lengthPrefixed([1]))
            }
            #expect(refusedAfterClose == .closed, "no frame is accepted once closing")
            while closes.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(closes.all == ["closed by peer"])
            #expect(received.count == count)
        }
    }

    @Test("given a frame split across two writes, then the receiver delivers it once, whole")
    func partialFrameWaitsForTheRest() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let address = try await Self.recordingServer(loop, received: received)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let frame = lengthPrefixed(Array(repeating: 7, count: 1000))
            try await loop.submit { client.send(Array(frame[..<3])) }
            try await Task.sleep(for: .milliseconds(30))
            try await loop.submit { client.send(Array(frame[3..<500])) }
            try await Task.sleep(for: .milliseconds(30))
            #expect(received.count == 0)
            try await loop.submit { client.send(Array(frame[500...])) }
            while received.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(received.all == [Array(repeating: 7, count: 1000)])
        }
    }

    @Test("given a frame larger than the read buffer, then it arrives intact")
    func largeFrameGrowsTheBuffer() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let small = TCPConnection.Options(readBufferSize: 4096)
            let address = try await Self.recordingServer(loop, options: small, received: received)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await loop.submit { client.send(lengthPrefixed(big)) }
            while received.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(received.all[0] == big)
        }
    }

    @Test("given a peer that sends an oversized length, then the connection closes with a bad-frame reason")
    func oversizedFrameClosesConnection() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let closes = Recorder<String>()
            let strict = TCPConnection.Options(framing: LengthPrefixedFrames(maxPayload: 1024))
            let address = try await Self.recordingServer(loop, options: strict, received: received, closes: closes)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let clientClosed = Handoff<String>()
            try await loop.submit {
                client.onClose = { clientClosed.put("\($0)") }
                client.startReading()
                client.send(lengthPrefixed([1, 2, 3]))
                client.send([0xFF, 0xFF, 0xFF, 0xFF, 0, 0])
            }
            #expect(await clientClosed.value == "closed by peer")
            while closes.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(closes.all[0].contains("exceeds the limit of 1024"))
            #expect(received.all == [[1, 2, 3]])
        }
    }

    @Test("given a raw-bytes connection, when bytes that are no valid frame arrive in pieces, then every byte is delivered in order and nothing is kept")
    func rawBytesAreDeliveredAsTheyCome() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let closes = Recorder<String>()
            let address = try await loop.submit {
                let listener = try TCPListener(on: loop, bind: loopback, connectionOptions: .rawBytes(readBufferSize: 4096))
                listener.onAccept = { connection in
                    connection.onFrame = { received.append(Array($0)) }
                    connection.onClose = { closes.append("\($0)") }
                    connection.startReading()
                }
                return listener.localAddress
            }
            let client = try await TCPConnection.connect(on: loop, to: address)
            // As a length prefix, 0xFFFFFFFF would close a framed connection.
            let pieces: [[UInt8]] = [[0xFF, 0xFF, 0xFF, 0xFF], Array("GET / HTTP/1.1\r\n".utf8),
                                     (0..<20_000).map { UInt8(truncatingIfNeeded: $0) }]
            // Each piece arrives before the next is sent: a read is delivered at once, without
            // waiting for more bytes (a framed connection would still wait for 4 GiB here).
            var sent = 0
            for piece in pieces {
                _ = try await loop.submit { client.send(piece) }
                sent += piece.count
                while received.all.reduce(0, { $0 + $1.count }) < sent { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(received.all.flatMap { $0 } == pieces.flatMap { $0 })
            try await loop.submit { client.close() }
            while closes.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(closes.all == ["closed by peer"])
        }
    }

    @Test("given a peer that sends a request and ends its side, when the answer is larger than the socket buffers, then the peer still reads all of it")
    func halfClosedPeerGetsTheWholeAnswer() async throws {
        try await withLoop { loop in
            let answer = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let closes = Recorder<String>()
            let address = try await loop.submit {
                let listener = try TCPListener(on: loop, bind: loopback, connectionOptions: .rawBytes())
                listener.onAccept = { connection in
                    connection.onFrame = { _ in _ = connection.send(answer) }
                    connection.onClose = { closes.append("\($0)") }
                    connection.startReading()
                }
                return listener.localAddress
            }
            // A plain socket: "go", then shutdown(SHUT_WR), then read until the server closes.
            let got = await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
                Thread.detachNewThread {
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    var target = sockaddr_in()
                    target.sin_family = sa_family_t(AF_INET)
                    target.sin_port = in_port_t(address.port).bigEndian
                    target.sin_addr.s_addr = inet_addr("127.0.0.1")
                    _ = withUnsafePointer(to: &target) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    _ = send(fd, "go", 2, Int32(MSG_NOSIGNAL))
                    shutdown(fd, Int32(SHUT_WR))
                    var received: [UInt8] = []
                    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                        if count <= 0 { break }
                        received += buffer[..<count]
                    }
                    close(fd)
                    continuation.resume(returning: received)
                }
            }
            #expect(got.count == answer.count)
            #expect(got == answer)
            while closes.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(closes.all == ["closed by peer"])
        }
    }

    @Test("given a connection that shuts down after flush, then it still reads what the peer sends, and the peer gets every frame, then the end of stream")
    func lingeringShutdown() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let closes = Recorder<String>()
            let accepted = Handoff<TCPConnection>()
            let address = try await Self.recordingServer(loop, received: received, closes: closes, accepted: accepted)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let server = await accepted.value
            let refused = try await loop.submit { () -> TCPConnection.SendResult in
                server.send(lengthPrefixed([1]))
                server.send(lengthPrefixed([2]))
                server.shutdownAfterFlush()
                return server.send(lengthPrefixed([3]))
            }
            #expect(refused == .closed, "nothing is sent after the shutdown")
            try await Task.sleep(for: .milliseconds(50))
            _ = try await loop.submit { client.send(lengthPrefixed([7])) }
            while received.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(received.all == [[7]])
            #expect(closes.count == 0, "the shut-down side still reads")

            let clientFrames = Recorder<[UInt8]>()
            let clientClosed = Handoff<String>()
            try await loop.submit {
                client.onFrame = { clientFrames.append(payload(of: $0)) }
                client.onClose = { clientClosed.put("\($0)") }
                client.startReading()
            }
            let clientCloseReason = await clientClosed.value
            #expect(clientCloseReason == "closed by peer")
            #expect(clientFrames.all == [[1], [2]])
            while closes.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(closes.all == ["closed by peer"])
        }
    }

    @Test("given a peer that has closed, when this side writes twice, then the connection fails with EPIPE and the process goes on (no SIGPIPE)")
    func writeToClosedPeer() async throws {
        try await withLoop { loop in
            let accepted = Handoff<TCPConnection>()
            let address = try await Self.recordingServer(loop, received: Recorder<[UInt8]>(), accepted: accepted)
            let client = try await TCPConnection.connect(on: loop, to: address)
            let server = await accepted.value
            let serverClosed = Handoff<String>()
            try await loop.submit {
                // Not reading, the server does not see the end of stream and writes on.
                server.pauseReading()
                server.onClose = { serverClosed.put("\($0)") }
                client.close()
            }
            try await Task.sleep(for: .milliseconds(30))
            // The first write reaches a closed socket, whose kernel answers with a reset; the
            // next one fails with EPIPE, which raises SIGPIPE in the writing thread.
            for _ in 0..<5 {
                _ = try await loop.submit { server.send(lengthPrefixed([1, 2, 3])) }
                try await Task.sleep(for: .milliseconds(30))
            }
            let reason = await serverClosed.value
            #expect(reason.contains("EPIPE") || reason.contains("ECONNRESET"), "\(reason)")
        }
    }

    @Test("given nothing listens, when connecting, then the error is ECONNREFUSED")
    func connectionRefused() async throws {
        try await withLoop { loop in
            let port = try await loop.submit { () throws -> UInt16 in
                let listener = try TCPListener(on: loop, bind: loopback)
                let port = listener.localAddress.port
                listener.close()
                return port
            }
            do {
                _ = try await TCPConnection.connect(on: loop, to: try SocketAddress(host: "127.0.0.1", port: port))
                Issue.record("connect succeeded")
            } catch let error as LoopError {
                #expect(error.name == "ECONNREFUSED")
                #expect("\(error)".contains("tcp connect 127.0.0.1:\(port)"))
            }
        }
    }

    @Test("given a port in use, when another listener binds it, then the error is EADDRINUSE")
    func portInUse() async throws {
        try await withLoop { loop in
            let error = try await loop.submit { () throws -> LoopError? in
                let first = try TCPListener(on: loop, bind: loopback)
                do {
                    _ = try TCPListener(on: loop, bind: first.localAddress)
                    return nil
                } catch let error as LoopError { return error }
            }
            #expect(error?.name == "EADDRINUSE")
        }
    }

    @Test("given a receiver that stops reading, then the sender is refused past the high watermark and resumes below the low one")
    func backpressure() async throws {
        try await withLoop { loop in
            let received = Recorder<[UInt8]>()
            let accepted = Handoff<TCPConnection>()
            let address = try await Self.recordingServer(loop, received: received, accepted: accepted)
            let options = TCPConnection.Options(highWatermark: 256 << 10, lowWatermark: 64 << 10, flushThreshold: 16 << 10)
            let client = try await TCPConnection.connect(on: loop, to: address, options: options)
            let server = await accepted.value
            try await loop.submit { server.pauseReading() }

            // Offer frames every millisecond; the kernel buffers absorb some, then the connection
            // must refuse and keep refusing while nobody reads.
            let sentBeforeStall = Handoff<Int>()
            let writableEvents = Recorder<Int>()
            let frame = lengthPrefixed(Array(repeating: 1, count: 996))
            loop.execute {
                client.onWritable = { writableEvents.append(1) }
                var sent = 0
                var refusedTicks = 0
                loop.scheduleTimer(afterMillis: 1, repeatMillis: 1) { timer in
                    while client.send(frame) == .queued { sent += 1; refusedTicks = 0 }
                    refusedTicks += 1
                    if refusedTicks == 100 { timer.cancel(); sentBeforeStall.put(sent) }
                }
            }
            let sent = await sentBeforeStall.value
            #expect(sent > 0)
            let stalled = try await loop.submit { (client.isWritable, client.queuedBytes) }
            #expect(stalled.0 == false, "a connection past its high watermark refuses frames")
            #expect(stalled.1 <= 256 << 10)
            let writableBefore = writableEvents.count
            try await loop.submit { server.resumeReading() }
            while writableEvents.count == writableBefore { try await Task.sleep(for: .milliseconds(2)) }
            #expect(try await loop.submit { client.isWritable })
            while received.count < sent { try await Task.sleep(for: .milliseconds(5)) }
            #expect(received.count == sent)
        }
    }
}
