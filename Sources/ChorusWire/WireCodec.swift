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
        guard frame.count >= header.frameLength else {
            throw .truncated(needed: header.frameLength, available: frame.count)
        }
        guard frame.count == header.frameLength else {
            throw .malformed("\(frame.count - header.frameLength) trailing bytes after the frame")
        }
        var reader = WireReader(UnsafeRawBufferPointer(rebasing: frame[FrameHeader.size...]))
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

    /// Header placeholder, payload, then the header filled in with the payload's length.
    /// A payload over `WireLimits.maxFramePayload` is recorded as an `oversized` violation.
    private static func writeFrame(_ message: Message, to writer: inout WireWriter) {
        let start = writer.count
        writer.writeZeros(FrameHeader.size)
        message.encodePayload(to: &writer)
        var length = writer.count - start - FrameHeader.size
        if length > WireLimits.maxFramePayload {
            writer.recordViolation(.oversized(length: length, limit: WireLimits.maxFramePayload))
            length = 0
        }
        let header = FrameHeader(type: message.type, payloadLength: length)
        writer.overwrite(at: start, count: FrameHeader.size) { header.write(to: $0.baseAddress!) }
    }
}
