import ChorusTestSupport
import Testing
@testable import ChorusWire

/// Given any valid message, when it is encoded and the frame decoded, then the same message
/// comes back, and the frame's header describes it.
@Suite struct RoundTripTests {
    @Test("given a valid message, when encoded then decoded, then it is unchanged", arguments: sampleMessages)
    func roundTrip(message: Message) throws {
        let frame = WireCodec.encode(message)
        #expect(try WireCodec.decode(frame: frame) == message)

        let header = try frame.withUnsafeBytes { try FrameHeader.parse($0, maxPayload: .max) }
        #expect(header.type == message.type)
        #expect(header.payloadLength == frame.count - FrameHeader.size)
        #expect(header.frameLength == frame.count)
    }

    @Test("given every message type, a sample exists and its frame carries that type")
    func everyTypeCovered() {
        let covered = Set(sampleMessages.map(\.type))
        #expect(covered == Set(MessageType.allCases))
    }

    @Test("given strings of exactly maxStringBytes bytes (ASCII, 2-byte and 4-byte UTF-8), they round trip")
    func maximalStrings() throws {
        for unit in ["x", "é", "🎶"] {
            let text = String(repeating: unit, count: WireLimits.maxStringBytes / unit.utf8.count)
            #expect(text.utf8.count == WireLimits.maxStringBytes)
            let hello = Hello(cluster: text, node: text, uid: .init(rawValue: 1), bindAddress: text, software: text)
            #expect(try WireCodec.decode(frame: WireCodec.encode(.hello(hello))) == .hello(hello))
        }
    }

    @Test("given a 1 MiB probe, when encoded then decoded, then the payload is intact")
    func largeProbe() throws {
        var rng = SplitMix64(seed: 1)
        let payload = rng.bytes(count: 1 << 20)
        let frame = WireCodec.encode(.transportProbe(payload))
        #expect(frame.count == FrameHeader.size + payload.count)
        #expect(try WireCodec.decode(frame: frame) == .transportProbe(payload))
    }

    @Test("given a buffer with earlier frames, encode(into:) appends exactly one more frame")
    func encodeAppends() throws {
        var buffer: [UInt8] = []
        for message in sampleMessages { WireCodec.encode(message, into: &buffer) }

        // Walk the concatenation frame by frame, as a stream reader would.
        var decoded: [Message] = []
        var offset = 0
        try buffer.withUnsafeBytes { all in
            while offset < all.count {
                let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
                let header = try FrameHeader.parse(rest, maxPayload: WireLimits.maxFramePayload)
                let frame = UnsafeRawBufferPointer(rebasing: rest[..<header.frameLength])
                decoded.append(try WireCodec.decode(frame: frame))
                offset += header.frameLength
            }
        }
        #expect(decoded == sampleMessages)
    }

    @Test("given a ping, its frame is exactly: magic C40F, version 1, type 2, length 16, then two big-endian UInt64")
    func pingGoldenBytes() {
        let frame = WireCodec.encode(.ping(Ping(sequence: 0x0102_0304_0506_0708, sentAtNanos: 0x1112_1314_1516_1718)))
        #expect(frame == [
            0xC4, 0x0F, 0x01, 0x02, 0x00, 0x00, 0x00, 0x10,
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
        ])
    }

    @Test("given a hello, its payload is: strings as UInt16 length + UTF-8, uid as a big-endian UInt64")
    func helloGoldenBytes() {
        let hello = Hello(cluster: "c", node: "né", uid: NodeUID(rawValue: 0xFF), bindAddress: "", software: "s")
        #expect(hello.encoded() == [
            0x00, 0x01, 0x63,
            0x00, 0x03, 0x6E, 0xC3, 0xA9,
            0, 0, 0, 0, 0, 0, 0, 0xFF,
            0x00, 0x00,
            0x00, 0x01, 0x73,
        ])
    }

    @Test("given a ping, the pong that echoes it carries the same fields")
    func pongEchoesPing() {
        let ping = Ping(sequence: 9, sentAtNanos: 123)
        #expect(Pong(echoing: ping) == Pong(sequence: 9, sentAtNanos: 123))
    }

    @Test("message types keep their wire numbers")
    func typeNumbers() {
        #expect(MessageType.hello.rawValue == 1)
        #expect(MessageType.ping.rawValue == 2)
        #expect(MessageType.pong.rawValue == 3)
        #expect(MessageType.sealed.rawValue == 0x40)
        #expect(MessageType.transportProbe.rawValue == 0x7F)
    }

    @Test("given a probe, its description shows its size, not its bytes")
    func probeDescription() {
        #expect(Message.transportProbe([1, 2, 3]).description == "transportProbe(3 bytes)")
    }
}

/// Given group member ids, their text form reads back, and nothing else reads as one.
@Suite struct GroupMemberIDTextTests {
    @Test("given a member id, its text form is the node uid, a dot and the serial, and parses back")
    func textForm() {
        let id = GroupMemberID(node: NodeUID(rawValue: 0x00C0_FFEE_00C0_FFEE), serial: 7)
        #expect(id.description == "00c0ffee00c0ffee.7")
        #expect(GroupMemberID("00c0ffee00c0ffee.7") == id)
        #expect(GroupMemberID("00C0FFEE00C0FFEE.7") == id)
    }

    @Test("given malformed text, it is not a member id", arguments: [
        "", ".", "00c0ffee00c0ffee", "00c0ffee00c0ffee.", "00c0ffee00c0ffee.-1", "00c0ffee00c0ffee.+1",
        "0c0ffee00c0ffee.1", "00c0ffee00c0ffeg.1", "00c0ffee00c0ffee.1.2", "00c0ffee00c0ffee.18446744073709551616",
    ])
    func malformed(text: String) {
        #expect(GroupMemberID(text) == nil)
    }
}

/// Given a groups delta, its numbering must be usable: no empty delta, no wrap past the last number.
@Suite struct GroupsDeltaRulesTests {
    @Test("given a delta with no changes, encoding records a violation and decoding refuses it")
    func emptyDelta() throws {
        var writer = WireWriter()
        GroupsDelta(firstSequence: 1, changes: []).encode(to: &writer)
        #expect(writer.violation != nil)
        var raw = WireWriter()
        raw.writeUInt64(1)
        raw.writeUInt32(0)
        #expect(throws: WireError.self) { try GroupsDelta(decoding: raw.finish()) }
    }

    @Test("given a delta numbered from zero or past the end of the numbers, decoding refuses it", arguments: [UInt64(0), .max])
    func outOfRange(first: UInt64) throws {
        var raw = WireWriter()
        raw.writeUInt64(first)
        raw.writeUInt32(1)
        GroupChange(.join, scope: "s", group: "g", serials: [1]).encode(to: &raw)
        #expect(throws: WireError.self) { try GroupsDelta(decoding: raw.finish()) }
    }
}
