import Testing
@testable import ChorusWire

/// The primitives other modules build their message bodies from.
@Suite struct ReaderWriterTests {
    /// A small body built only from the public primitives, as another module would write one.
    struct Sample: WireBody, Equatable {
        enum Kind: UInt8 { case alive = 0, suspect = 1, dead = 2 }
        var kind: Kind
        var flag: Bool
        var name: String
        var blob: [UInt8]
        var incarnations: [UInt64]
        var signed: Int64

        func encode(to writer: inout WireWriter) {
            writer.writeEnum(kind)
            writer.writeBool(flag)
            writer.writeString(name, maxBytes: 8)
            writer.writeBytes(blob, maxCount: 16)
            writer.writeArray(incarnations, maxCount: 4) { writer, value in writer.writeUInt64(value) }
            writer.writeInt64(signed)
        }

        init(kind: Kind, flag: Bool, name: String, blob: [UInt8], incarnations: [UInt64], signed: Int64) {
            (self.kind, self.flag, self.name, self.blob, self.incarnations, self.signed) =
                (kind, flag, name, blob, incarnations, signed)
        }

        init(from reader: inout WireReader) throws(WireError) {
            kind = try reader.readEnum()
            flag = try reader.readBool()
            name = try reader.readString(maxBytes: 8)
            blob = try reader.readBytes(maxCount: 16)
            incarnations = try reader.readArray(maxCount: 4) { (reader: inout WireReader) throws(WireError) in
                try reader.readUInt64()
            }
            signed = try reader.readInt64()
        }
    }

    let sample = Sample(kind: .suspect, flag: true, name: "n1", blob: [9, 8], incarnations: [1, 2], signed: -2)

    @Test("given a body built from the primitives, it round trips and its bytes are as documented")
    func bodyRoundTrip() throws {
        let bytes = sample.encoded()
        #expect(bytes == [
            0x01,                                   // enum raw value
            0x01,                                   // bool
            0x00, 0x02, 0x6E, 0x31,                 // string: UInt16 length + UTF-8
            0x00, 0x00, 0x00, 0x02, 0x09, 0x08,     // bytes: UInt32 length + bytes
            0x00, 0x00, 0x00, 0x02,                 // array: UInt32 count
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,  // Int64 -2, two's complement big endian
        ])
        #expect(try Sample(decoding: bytes) == sample)
    }

    @Test("given integers, they are written big endian and read back")
    func integers() throws {
        var writer = WireWriter()
        writer.writeUInt8(0xAB)
        writer.writeUInt16(0x0102)
        writer.writeUInt32(0x0304_0506)
        writer.writeUInt64(0x0708_090A_0B0C_0D0E)
        let bytes = writer.finish()
        #expect(bytes == [0xAB, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
        try bytes.withUnsafeBytes { raw throws in
            var reader = WireReader(raw)
            #expect(try reader.readUInt8() == 0xAB)
            #expect(try reader.readUInt16() == 0x0102)
            #expect(try reader.readUInt32() == 0x0304_0506)
            #expect(try reader.readUInt64() == 0x0708_090A_0B0C_0D0E)
            #expect(reader.isAtEnd)
            #expect(wireError { try reader.readUInt8() } == .truncated(needed: 1, available: 0))
        }
    }

    @Test("given a failed read, the cursor has not moved")
    func failedReadDoesNotAdvance() {
        ([0x00, 0x05, 0x61] as [UInt8]).withUnsafeBytes { raw in
            var reader = WireReader(raw)
            #expect(wireError { try reader.readString() } == .truncated(needed: 5, available: 1))
            #expect(reader.offset == 0)
            #expect(wireError { try reader.readUInt32() } == .truncated(needed: 4, available: 3))
            #expect(reader.offset == 0)
        }
    }

    @Test("given ASCII, multi-byte UTF-8 and invalid bytes of every length up to 40, readString keeps the valid and refuses the invalid")
    func stringsOnEachPath() {
        // The reader checks ASCII a word at a time, the rest through full validation: a non-ASCII
        // byte at any position of any length must take the second path.
        for length in 0...40 {
            for position in [-1] + Array(0..<length) {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                if position >= 0 { bytes[position] = 0xFF }
                var writer = WireWriter()
                writer.writeUInt16(UInt16(length))
                writer.writeRawBytes(bytes)
                let encoded = writer.bytes
                encoded.withUnsafeBytes { raw in
                    var reader = WireReader(raw)
                    if position < 0 {
                        #expect(wireError { _ = try reader.readString() } == nil)
                    } else {
                        #expect(wireError { _ = try reader.readString() } == .malformed("string field is not valid UTF-8"))
                        #expect(reader.offset == 0)
                    }
                }
            }
        }
        for text in ["é", "grüße aus köln, viel länger als acht bytes", "🎶", "a🎶b"] {
            var writer = WireWriter()
            writer.writeString(text)
            let encoded = writer.bytes
            let decoded = encoded.withUnsafeBytes { raw in
                var reader = WireReader(raw)
                return try? reader.readString()
            }
            #expect(decoded == text)
        }
    }

    @Test("given a string field that is one of the preferred strings, or another, readString(preferring:) gives it back either way")
    func preferredStrings() {
        let common = ["application/json", "application/octet-stream"]
        for text in ["application/json", "application/octet-stream", "application/jsoN", "text/plain", ""] {
            var writer = WireWriter()
            writer.writeString(text)
            writer.writeUInt8(7)
            let encoded = writer.bytes
            let (decoded, next) = encoded.withUnsafeBytes { raw in
                var reader = WireReader(raw)
                return (try? reader.readString(preferring: common), try? reader.readUInt8())
            }
            #expect(decoded == text)
            #expect(next == 7)
        }
        // A declared length past the input falls through to readString's error.
        [UInt8(0x00), 0x10, 0x61].withUnsafeBytes { raw in
            var reader = WireReader(raw)
            #expect(wireError { _ = try reader.readString(preferring: common) } == .truncated(needed: 16, available: 1))
        }
    }

    @Test("given a byte that is not 0 or 1, readBool throws malformed")
    func badBool() {
        #expect(wireError { try Sample(decoding: [0x00, 0x02]) } == .malformed("boolean byte 0x02 is neither 0 nor 1"))
    }

    @Test("given a raw value with no enum case, readEnum throws malformed")
    func badEnumRawValue() {
        #expect(wireError { try Sample(decoding: [0x03]) } == .malformed("0x03 is not a valid Kind"))
        [UInt8(9)].withUnsafeBytes { raw in
            var reader = WireReader(raw)
            #expect(wireError { try reader.readEnum(MessageType.self) } == .malformed("0x09 is not a valid MessageType"))
        }
    }

    @Test("given a byte field declaring 4 GiB over a few bytes, readBytes throws before allocating")
    func hugeBytesField() {
        ([0xFF, 0xFF, 0xFF, 0xFF, 1, 2] as [UInt8]).withUnsafeBytes { raw in
            var reader = WireReader(raw)
            #expect(wireError { try reader.readBytes(maxCount: .max) } == .truncated(needed: Int(UInt32.max), available: 2))
            #expect(wireError { try reader.readBytes() }
                == .oversized(length: Int(UInt32.max), limit: WireLimits.maxFramePayload))
        }
    }

    @Test("given an array count over its limit, readArray throws oversized; a count past the input throws truncated")
    func arrayLimits() {
        ([0x00, 0x00, 0x00, 0x05] as [UInt8]).withUnsafeBytes { raw in
            var reader = WireReader(raw)
            #expect(wireError { try reader.readArray(of: Ping.self, maxCount: 4) } == .oversized(length: 5, limit: 4))
        }
        ([0xFF, 0xFF, 0xFF, 0xFF, 0, 0] as [UInt8]).withUnsafeBytes { raw in
            var reader = WireReader(raw)
            #expect(wireError { try reader.readArray(of: Ping.self, maxCount: .max) } == .truncated(needed: 8, available: 2))
        }
    }

    @Test("given fields over their limits, the writer records the violation and finish is refused by validate")
    func writerViolations() {
        var tooLong = sample
        tooLong.name = "123456789"
        #expect(wireError { try tooLong.validate() } == .malformed("string of 9 bytes exceeds the limit of 8 bytes"))

        var tooBig = sample
        tooBig.blob = Array(repeating: 0, count: 17)
        #expect(wireError { try tooBig.validate() } == .oversized(length: 17, limit: 16))

        var tooMany = sample
        tooMany.incarnations = [1, 2, 3, 4, 5]
        #expect(wireError { try tooMany.validate() } == .oversized(length: 5, limit: 4))

        // The first violation wins.
        var both = tooLong
        both.blob = tooBig.blob
        #expect(wireError { try both.validate() } == .malformed("string of 9 bytes exceeds the limit of 8 bytes"))
        #expect(wireError { try sample.validate() } == nil)
    }

    @Test("given a decoded body with bytes left over, init(decoding:) throws malformed")
    func leftoverBytes() {
        #expect(wireError { try Ping(decoding: [UInt8](repeating: 0, count: 17)) }
            == .malformed("1 trailing bytes after the message body"))
    }

    @Test("given nested bodies, write/read and writeArray/readArray(of:) round trip")
    func nestedBodies() throws {
        let pings = [Ping(sequence: 1, sentAtNanos: 2), Ping(sequence: 3, sentAtNanos: 4)]
        var writer = WireWriter()
        writer.write(Pong(sequence: 5, sentAtNanos: 6))
        writer.writeArray(pings, maxCount: 10)
        let bytes = writer.finish()
        try bytes.withUnsafeBytes { raw throws in
            var reader = WireReader(raw)
            #expect(try reader.read(Pong.self) == Pong(sequence: 5, sentAtNanos: 6))
            #expect(try reader.readArray(of: Ping.self, maxCount: 10) == pings)
            try reader.expectEnd()
        }
    }

    @Test("given a length known only afterwards, setUInt32 back-patches it")
    func backPatch() {
        var writer = WireWriter(appendingTo: [0xEE])
        let at = writer.count
        writer.writeUInt32(0)
        writer.writeRawBytes([1, 2, 3])
        writer.setUInt32(3, at: at)
        #expect(writer.finish() == [0xEE, 0, 0, 0, 3, 1, 2, 3])
    }

    @Test("given a header, write then parse gives it back")
    func headerRoundTrip() throws {
        for type in MessageType.allCases {
            for length in [0, 1, 1400, WireLimits.maxFramePayload, Int(UInt32.max)] {
                let header = FrameHeader(type: type, payloadLength: length)
                var bytes = [UInt8](repeating: 0, count: FrameHeader.size)
                bytes.withUnsafeMutableBytes { header.write(to: $0.baseAddress!) }
                #expect(try bytes.withUnsafeBytes { try FrameHeader.parse($0, maxPayload: .max) } == header)
            }
        }
    }
}
