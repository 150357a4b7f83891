/// A value with a binary encoding: a frame payload, or a part of one.
///
/// Other modules conform their own message bodies (SWIM probes, group deltas, store deltas)
/// and get whole-buffer encode/decode for free. An encoding must be canonical: decoding a
/// buffer and re-encoding the value gives back the same bytes.
public protocol WireBody: Sendable {
    /// Appends the encoding. Rules the value breaks (a string over its limit, say) are recorded
    /// on the writer with `WireWriter.recordViolation(_:)` rather than trapping here.
    func encode(to writer: inout WireWriter)
    /// Reads one value, consuming exactly the bytes `encode(to:)` wrote.
    init(from reader: inout WireReader) throws(WireError)
}

extension WireBody {
    /// Decodes a value that must fill `bytes` exactly; leftover bytes are `malformed`.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {
        var reader = WireReader(bytes)
        let value = try Self(from: &reader)
        try reader.expectEnd()
        self = value
    }

    /// Decodes a value that must fill `bytes` exactly; leftover bytes are `malformed`.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        self = try withUnsafeBytesOf(bytes) { buffer throws(WireError) in try Self(decoding: buffer) }
    }

    /// The encoding alone (no frame header).
    ///
    /// Precondition: the value is valid (`validate()` does not throw).
    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        encode(to: &writer)
        return writer.finish()
    }

    /// Throws the first rule the value breaks, the same error a peer would get decoding it.
    public func validate() throws(WireError) {
        var writer = WireWriter()
        encode(to: &writer)
        if let violation = writer.violation { throw violation }
    }
}

/// `Array.withUnsafeBytes` with a typed error.
@inline(__always)
func withUnsafeBytesOf<R>(
    _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(WireError) -> R
) throws(WireError) -> R {
    let result: Result<R, WireError> = bytes.withUnsafeBytes { buffer in
        do throws(WireError) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
}
