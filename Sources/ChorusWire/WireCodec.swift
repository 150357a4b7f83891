/// Whole frames: header plus payload, to and from bytes.
///
/// A frame decodes only if every byte is accounted for: the header is valid, the payload is
/// exactly `payloadLength` bytes, and the message body consumes all of it. Encoding is
/// canonical: a frame that decodes re-encodes to the same bytes.
public enum WireCodec {
    /// A whole frame (header + payload) for `message`.
    ///
    /// Precondition: `message` is valid (see `validate(_:)`): strings within
    /// `WireLimits.maxStringBytes`, payload within `WireLimits.maxFramePayload`. Messages that came
    /// from `decode` with the default limit always are; validate ones built from user input.
    public static func encode(_ message: Message) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(message, into: &buffer)
        return buffer
    }

    /// Appends a whole frame to `buffer` (same precondition as `encode(_:)`).
    public static func encode(_ message: Message, into buffer: inout [UInt8]) {
        var writer = WireWriter(appendingTo: buffer)
        buffer = []  // leave the writer the only owner, so appending does not copy
        writeFrame(message, to: &writer)
        buffer = writer.finish()
    }

    /// Appends a whole frame of type `type` whose payload is `body`, without building a `Message`
    /// (for a hot path; same precondition as `encode(_:)`, and `type` must be `body`'s type).
    public static func encode(_ body: some WireBody, as type: MessageType, into buffer: inout [UInt8]) {
        var writer = WireWriter(appendingTo: buffer)
        buffer = []
        writeFrame(type: type, to: &writer) { body.encode(to: &$0) }
        buffer = writer.finish()
    }

    /// Decodes a whole frame known to be of type `type` into its body alone, without building a
    /// `Message` (for a hot path): the same checks as `decode(frame:)`, and a frame of another
    /// type is `malformed`.
    public static func decode<Body: WireBody>(
        _: Body.Type, as type: MessageType, frame: UnsafeRawBufferPointer, maxPayload: Int = WireLimits.maxFramePayload
    ) throws(WireError) -> Body {
        let header = try FrameHeader.parse(frame, maxPayload: maxPayload)
        guard header.type == type else { throw .malformed("expected a frame of type \(type), got \(header.type)") }
        var reader = try payloadReader(frame, header)
        let body = try Body(from: &reader)
        try reader.expectEnd()
        return body
    }

    /// Checks a whole frame's header and length and returns its type and payload, without decoding
    /// the payload (for messages a layer above decodes: replication's).
    public static func payload(
        of frame: UnsafeRawBufferPointer, maxPayload: Int = WireLimits.maxFramePayload
    ) throws(WireError) -> (type: MessageType, payload: UnsafeRawBufferPointer) {
        let header = try FrameHeader.parse(frame, maxPayload: maxPayload)
        let reader = try payloadReader(frame, header)
        return (header.type, reader.bytes)
    }

    /// A whole frame of type `type` around an already encoded payload (at most
    /// `WireLimits.maxFramePayload` bytes).
    public static func frame(_ type: MessageType, payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= WireLimits.maxFramePayload, "a frame payload over the limit")
        var writer = WireWriter(reservingCapacity: FrameHeader.size + payload.count)
        writeFrame(type: type, to: &writer) { $0.writeRawBytes(payload) }
        return writer.finish()
    }

    /// Throws the `WireError` a peer would raise decoding `message`, or nothing if it is valid.
    public static func validate(_ message: Message) throws(WireError) {
        var writer = WireWriter()
        writeFrame(message, to: &writer)
        if let violation = writer.violation { throw violation }
    }

    /// Decodes exactly one whole frame (header + payload, no trailing bytes).
    ///
    /// Never traps on any input. The header is validated first (a declared payload length above
    /// `maxPayload` throws `oversized` before the payload is touched); the result never holds
    /// more bytes than the input.
    public static func decode(
        frame: UnsafeRawBufferPointer, maxPayload: Int = WireLimits.maxFramePayload
    ) throws(WireError) -> Message {
        let header = try FrameHeader.parse(frame, maxPayload: maxPayload)
        var reader = try payloadReader(frame, header)
        let message = try Message.decodePayload(type: header.type, from: &reader)
        try reader.expectEnd()
        return message
    }

    /// Decodes exactly one whole frame (header + payload, no trailing bytes).
    public static func decode(
        frame: [UInt8], maxPayload: Int = WireLimits.maxFramePayload
    ) throws(WireError) -> Message {
        try withUnsafeBytesOf(frame) { buffer throws(WireError) in
            try decode(frame: buffer, maxPayload: maxPayload)
        }
    }

    /// A reader over the payload of a frame whose header is `header`: exactly the frame, no
    /// byte missing and none trailing.
    private static func payloadReader(_ frame: UnsafeRawBufferPointer, _ header: FrameHeader) throws(WireError) -> WireReader {
        guard frame.count >= header.frameLength else {
            throw .truncated(needed: header.frameLength, available: frame.count)
        }
        guard frame.count == header.frameLength else {
            throw .malformed("\(frame.count - header.frameLength) trailing bytes after the frame")
        }
        return WireReader(UnsafeRawBufferPointer(rebasing: frame[FrameHeader.size...]))
    }

    /// Header placeholder, payload, then the header filled in with the payload's length.
    /// A payload over `WireLimits.maxFramePayload` is recorded as an `oversized` violation.
    private static func writeFrame(_ message: Message, to writer: inout WireWriter) {
        writeFrame(type: message.type, to: &writer) { message.encodePayload(to: &$0) }
    }

    private static func writeFrame(type: MessageType, to writer: inout WireWriter, payload: (inout WireWriter) -> Void) {
        let start = writer.count
        writer.writeZeros(FrameHeader.size)
        payload(&writer)
        var length = writer.count - start - FrameHeader.size
        if length > WireLimits.maxFramePayload {
            writer.recordViolation(.oversized(length: length, limit: WireLimits.maxFramePayload))
            length = 0
        }
        let header = FrameHeader(type: type, payloadLength: length)
        writer.overwrite(at: start, count: FrameHeader.size) { header.write(to: $0.baseAddress!) }
    }
}
