@testable import ChorusLoop
import ChorusTestSupport
import Testing

@Suite("UDP sockets", .timeLimit(.minutes(1)))
struct UDPTests {
    @Test("given two sockets, when one sends datagrams, then the other receives them with the sender's address")
    func exchange() async throws {
        try await withLoop { loop in
            let received = Recorder<([UInt8], SocketAddress)>()
            let (a, b) = try await loop.submit { () throws -> (UDPSocket, UDPSocket) in
                let a = try UDPSocket(on: loop, bind: loopback)
                let b = try UDPSocket(on: loop, bind: loopback)
                b.onPacket = { bytes, from in received.append((Array(bytes), from)) }
                try b.startReceiving()
                return (a, b)
            }
            try await loop.submit {
                for i in 0..<100 { try a.send([UInt8(i), 1, 2, 3], to: b.localAddress) }
            }
            while received.count < 100 { try await Task.sleep(for: .milliseconds(2)) }
            #expect(received.all.map { $0.0[0] } == (0..<100).map { UInt8($0) })
            #expect(received.all[0].1 == a.localAddress)
        }
    }

    @Test("given a bound port, when another socket binds it, then the error is EADDRINUSE")
    func portInUse() async throws {
        try await withLoop { loop in
            let name = try await loop.submit { () throws -> String? in
                let first = try UDPSocket(on: loop, bind: loopback)
                do { _ = try UDPSocket(on: loop, bind: first.localAddress); return nil } catch let error as LoopError { return error.name }
            }
            #expect(name == "EADDRINUSE")
        }
    }

    @Test("given bad address text, then parsing says what was expected")
    func addressErrors() throws {
        #expect(throws: AddressError.self) { try SocketAddress("nohost") }
        #expect(throws: AddressError.self) { try SocketAddress("1.2.3.4:99999") }
        #expect(throws: AddressError.self) { try SocketAddress("example.com:80") }
        #expect(try SocketAddress("[::1]:7000").description == "[::1]:7000")
        #expect(try SocketAddress("localhost:7000").description == "127.0.0.1:7000")
    }

    @Test("given an address, then it is loopback only when only this machine reaches it", arguments: [
        ("127.0.0.1:1", true), ("127.1.2.3:1", true), ("localhost:1", true), ("[::1]:1", true),
        ("[0:0:0:0:0:0:0:1]:1", true), ("[::ffff:127.0.0.1]:1", true),
        ("0.0.0.0:1", false), ("10.0.0.1:1", false), ("192.168.1.1:1", false), ("128.0.0.1:1", false),
        ("[::]:1", false), ("[::2]:1", false), ("[::ffff:10.0.0.1]:1", false), ("[fe80::1]:1", false),
    ])
    func loopbackAddresses(text: String, expected: Bool) throws {
        #expect(try SocketAddress(text).isLoopback == expected)
    }
}
