/// Builds an encoding: big-endian integers and length-prefixed fields, mirroring `WireReader`.
///
/// Writing never traps. A value that breaks a wire rule (a string over its limit, a list over
/// its count) is recorded in `violation` and replaced by an empty field, so the output stays
/// well formed; `finish()` then refuses to hand it out. `WireBody.validate()` and
/// `WireCodec.validate(_:)` report the violation as the `WireError` a peer would raise.
public struct WireWriter: Sendable {
    /// The encoding so far.
    public private(set) var bytes: [UInt8]
    /// The first rule the written values broke, if any.
    public private(set) var violation: WireError?

    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Continues after the existing `bytes` (which are kept as they are).
    public init(appendingTo bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Bytes written so far (including any the writer started with).
    public var count: Int { bytes.count }

    /// Records that the value being written breaks a rule; the first one recorded wins.
    public mutating func recordViolation(_ error: WireError) {
        if violation == nil { violation = error }
    }

    /// The encoding. Precondition: no violation was recorded (check with `violation` or
    /// `validate()` first when the value comes from user input).
    public consuming func finish() -> [UInt8] {
        if let violation {
            preconditionFailure("encoding an invalid message: \(violation)")
        }
        return bytes
    }

    // MARK: Fixed-width values

    /// Appends `value` big endian.
    @inline(__always)
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }
    public mutating func writeUInt16(_ value: UInt16) { writeInteger(value) }
    public mutating func writeUInt32(_ value: UInt32) { writeInteger(value) }
    public mutating func writeUInt64(_ value: UInt64) { writeInteger(value) }
    public mutating func writeInt64(_ value: Int64) { writeInteger(value) }

    /// One byte: 1 for true, 0 for false.
    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// One byte: the raw value.
    public mutating func writeEnum<E: RawRepresentable>(_ value: E) where E.RawValue == UInt8 {
        bytes.append(value.rawValue)
    }

    // MARK: Variable-length values

    /// A UInt16 byte count then the UTF-8 bytes. Over `maxBytes` is a violation (`malformed`,
    /// as the reader would report) and an empty string is written instead.
    public mutating func writeString(_ value: String, maxBytes: Int = WireLimits.maxStringBytes) {
        let limit = min(maxBytes, Int(UInt16.max))
        var value = value
        value.withUTF8 { utf8 in
            guard utf8.count <= limit else {
                recordViolation(.malformed("string of \(utf8.count) bytes exceeds the limit of \(limit) bytes"))
                writeUInt16(0)
                return
            }
            writeUInt16(UInt16(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A UInt32 byte count then the bytes. Over `maxCount` is a violation (`oversized`) and an
    /// empty field is written instead.
    public mutating func writeBytes(_ value: some Collection<UInt8>, maxCount: Int = WireLimits.maxFramePayload) {
        let limit = min(maxCount, Int(UInt32.max))
        guard value.count <= limit else {
            recordViolation(.oversized(length: value.count, limit: limit))
            writeUInt32(0)
            return
        }
        writeUInt32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// The bytes with no prefix (their length is known from context).
    public mutating func writeRawBytes(_ value: some Sequence<UInt8>) {
        bytes.append(contentsOf: value)
    }

    /// A nested body.
    public mutating func write(_ body: some WireBody) {
        body.encode(to: &self)
    }

    /// A UInt32 element count then each element. Over `maxCount` is a violation (`oversized`)
    /// and an empty list is written instead.
    public mutating func writeArray<C: Collection>(
        _ elements: C, maxCount: Int, _ element: (inout WireWriter, C.Element) -> Void
    ) {
        let limit = min(maxCount, Int(UInt32.max))
        guard elements.count <= limit else {
            recordViolation(.oversized(length: elements.count, limit: limit))
            writeUInt32(0)
            return
        }
        writeUInt32(UInt32(elements.count))
        for value in elements { element(&self, value) }
    }

    /// A list of nested bodies (see `writeArray(_:maxCount:_:)`).
    public mutating func writeArray<C: Collection>(_ elements: C, maxCount: Int) where C.Element: WireBody {
        writeArray(elements, maxCount: maxCount) { writer, value in value.encode(to: &writer) }
    }

    // MARK: Back-patching

    /// Overwrites 4 bytes at `offset` with `value` big endian (a length known only afterwards).
    public mutating func setUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= bytes.count, "setUInt32 outside the written bytes")
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    /// Lets `body` overwrite `count` already-written bytes starting at `offset`.
    mutating func overwrite(at offset: Int, count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(offset >= 0 && count >= 0 && offset + count <= bytes.count, "overwrite outside the written bytes")
        bytes.withUnsafeMutableBytes { body(UnsafeMutableRawBufferPointer(rebasing: $0[offset ..< offset + count])) }
    }
}
