import Testing
@testable import ChorusWire

/// Each way a frame can be wrong, crafted by hand, and the exact error it must produce.
@Suite struct WireErrorTests {
    let pingFrame = WireCodec.encode(.ping(Ping(sequence: 1, sentAtNanos: 2)))

    @Test("given fewer than 8 bytes, decode throws truncated(needed: 8)", arguments: 0 ..< 8)
    func truncatedHeader(count: Int) {
        let input = Array(pingFrame.prefix(count))
        #expect(wireError { try WireCodec.decode(frame: input) } == .truncated(needed: 8, available: count))
    }

    @Test("given a valid header and a body one byte short, decode throws truncated(needed: whole frame)")
    func truncatedBody() {
        let input = Array(pingFrame.dropLast())
        #expect(wireError { try WireCodec.decode(frame: input) } == .truncated(needed: 24, available: 23))
    }

    @Test("given a header whose length is shorter than the body needs, decode throws truncated for the field")
    func truncatedField() {
        // A ping payload of 5 bytes: the first UInt64 needs 8.
        let input = craftFrame(type: MessageType.ping.rawValue, payload: [1, 2, 3, 4, 5])
        #expect(wireError { try WireCodec.decode(frame: input) } == .truncated(needed: 8, available: 5))
    }

    @Test("given a hello whose string length prefix runs past the payload, decode throws truncated")
    func truncatedString() {
        let input = craftFrame(type: MessageType.hello.rawValue, payload: [0x00, 0x10, 0x61, 0x62])
        #expect(wireError { try WireCodec.decode(frame: input) } == .truncated(needed: 16, available: 2))
    }

    @Test("given an HTTP request, decode throws badMagic(0x4745) with a readable description")
    func badMagic() {
        let input = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        let error = wireError { try WireCodec.decode(frame: input) }
        #expect(error == .badMagic(0x4745))
        #expect(error?.description == "bad magic 0x4745 (expected 0xC40F)")
    }

    @Test("given version 2 (or 0), decode throws unsupportedVersion", arguments: [UInt8(0), 2, 0xFF])
    func unsupportedVersion(version: UInt8) {
        let input = craftFrame(version: version, type: MessageType.ping.rawValue, payload: Array(repeating: 0, count: 16))
        #expect(wireError { try WireCodec.decode(frame: input) } == .unsupportedVersion(version))
    }

    @Test("given a type byte with no MessageType, decode throws unknownType", arguments: [UInt8(0), 4, 0x7E, 0x80, 0xFF])
    func unknownType(type: UInt8) {
        let input = craftFrame(type: type, payload: [])
        #expect(wireError { try WireCodec.decode(frame: input) } == .unknownType(type))
    }

    @Test("given only a header declaring more than maxPayload, decode throws oversized from the header alone")
    func oversizedDeclaredLength() {
        // The input is the 8 header bytes and nothing else. Had the decoder tried to read or
        // allocate the declared body first it would report `truncated` (or exhaust memory);
        // `oversized` proves it refused on the declaration, before touching the payload.
        let justOver = craftFrame(type: MessageType.transportProbe.rawValue,
                                  declaredLength: UInt32(WireLimits.maxFramePayload + 1))
        #expect(wireError { try WireCodec.decode(frame: justOver) }
            == .oversized(length: WireLimits.maxFramePayload + 1, limit: WireLimits.maxFramePayload))

        let huge = craftFrame(type: MessageType.transportProbe.rawValue, declaredLength: .max)
        #expect(wireError { try WireCodec.decode(frame: huge) }
            == .oversized(length: Int(UInt32.max), limit: WireLimits.maxFramePayload))

        // A caller's own limit (a UDP datagram) applies the same way.
        let overUDP = craftFrame(type: MessageType.transportProbe.rawValue,
                                 declaredLength: UInt32(WireLimits.maxUDPPacket + 1))
        #expect(wireError { try WireCodec.decode(frame: overUDP, maxPayload: WireLimits.maxUDPPacket) }
            == .oversized(length: WireLimits.maxUDPPacket + 1, limit: WireLimits.maxUDPPacket))
    }

    @Test("given no limit and a 4 GiB declaration over 8 bytes, decode throws truncated without allocating the body")
    func hugeDeclarationWithoutLimit() {
        // Even with the limit lifted, the body is only looked at once the input is known to hold
        // it; this returns at once instead of allocating 4 GiB.
        let huge = craftFrame(type: MessageType.transportProbe.rawValue, declaredLength: .max)
        for _ in 0 ..< 1000 {
            #expect(wireError { try WireCodec.decode(frame: huge, maxPayload: .max) }
                == .truncated(needed: FrameHeader.size + Int(UInt32.max), available: FrameHeader.size))
        }
    }

    @Test("given a length exactly at maxPayload, the header is accepted")
    func lengthAtLimitAccepted() throws {
        let header = craftFrame(type: MessageType.transportProbe.rawValue, declaredLength: 1400)
        let parsed = try header.withUnsafeBytes { try FrameHeader.parse($0, maxPayload: 1400) }
        #expect(parsed == FrameHeader(type: .transportProbe, payloadLength: 1400))
    }

    @Test("given a whole frame followed by extra bytes, decode throws malformed (trailing bytes)")
    func trailingBytesAfterFrame() {
        let input = pingFrame + [0]
        #expect(wireError { try WireCodec.decode(frame: input) } == .malformed("1 trailing bytes after the frame"))
    }

    @Test("given a ping payload of 17 bytes, decode throws malformed (body does not consume the payload)")
    func trailingBytesInPayload() {
        let input = craftFrame(type: MessageType.ping.rawValue, payload: Array(repeating: 0, count: 17))
        #expect(wireError { try WireCodec.decode(frame: input) } == .malformed("1 trailing bytes after the message body"))
    }

    @Test("given a hello with invalid UTF-8 in a string, decode throws malformed", arguments: [
        [UInt8(0xFF)], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80],
    ])
    func invalidUTF8(bad: [UInt8]) {
        var payload = WireWriter()
        payload.writeUInt16(UInt16(bad.count))
        payload.writeRawBytes(bad)
        let input = craftFrame(type: MessageType.hello.rawValue, payload: payload.finish())
        #expect(wireError { try WireCodec.decode(frame: input) } == .malformed("string field is not valid UTF-8"))
    }

    @Test("given a hello whose string is maxStringBytes + 1 bytes, decode throws malformed before reading it")
    func stringOverLimitDecoded() {
        var payload = WireWriter()
        payload.writeUInt16(UInt16(WireLimits.maxStringBytes + 1))
        payload.writeRawBytes(repeatElement(UInt8(ascii: "x"), count: WireLimits.maxStringBytes + 1))
        let input = craftFrame(type: MessageType.hello.rawValue, payload: payload.finish())
        #expect(wireError { try WireCodec.decode(frame: input) }
            == .malformed("string of 1025 bytes exceeds the limit of 1024 bytes"))

        // The limit is checked on the prefix alone: the bytes need not even be there.
        let prefixOnly = craftFrame(type: MessageType.hello.rawValue, payload: [0xFF, 0xFF])
        #expect(wireError { try WireCodec.decode(frame: prefixOnly) }
            == .malformed("string of 65535 bytes exceeds the limit of 1024 bytes"))
    }

    @Test("given a hello with a string over the limit, validate reports what a peer would, before sending")
    func stringOverLimitValidated() {
        let long = String(repeating: "é", count: WireLimits.maxStringBytes / 2 + 1)  // 1026 bytes
        let hello = Hello(cluster: "c", node: long, uid: .init(rawValue: 1), bindAddress: "a:1", software: "s")
        let expected = WireError.malformed("string of 1026 bytes exceeds the limit of 1024 bytes")
        #expect(wireError { try WireCodec.validate(.hello(hello)) } == expected)
        #expect(wireError { try hello.validate() } == expected)
        #expect(wireError { try WireCodec.validate(sampleMessages[0]) } == nil)
    }

    @Test("given a probe payload over maxFramePayload, validate reports oversized")
    func probeOverLimitValidated() {
        let probe = Message.transportProbe([UInt8](repeating: 0, count: WireLimits.maxFramePayload + 1))
        #expect(wireError { try WireCodec.validate(probe) }
            == .oversized(length: WireLimits.maxFramePayload + 1, limit: WireLimits.maxFramePayload))
    }

    @Test("every error has a one-sentence description")
    func descriptions() {
        #expect(WireError.truncated(needed: 8, available: 3).description
            == "truncated input: needed 8 bytes but only 3 available")
        #expect(WireError.unsupportedVersion(2).description
            == "unsupported wire version 2 (this node speaks version 1)")
        #expect(WireError.unknownType(0x80).description == "unknown message type 0x80")
        #expect(WireError.oversized(length: 20, limit: 10).description
            == "declared length 20 bytes exceeds the limit of 10 bytes")
        #expect(WireError.malformed("trailing junk").description == "malformed message: trailing junk")
    }
}
