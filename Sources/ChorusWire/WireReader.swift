/// A bounds-checked cursor over the bytes of one frame payload (or any encoded body).
///
/// Rules every read follows, so a decoder built from these calls cannot trap or over-allocate:
/// - integers are big endian;
/// - a read needing more bytes than remain throws `truncated` and leaves the cursor where it was;
/// - a length prefix is checked against its limit (`malformed`) and against the bytes that
///   remain (`truncated`) before anything is allocated, so memory use is bounded by input size.
///
/// The reader borrows `bytes`; use it only inside the `withUnsafeBytes` (or similar) scope
/// that supplied them.
public struct WireReader {
    /// The whole input.
    public let bytes: UnsafeRawBufferPointer
    /// Offset of the next byte to read.
    public private(set) var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.offset = 0
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }

    /// True once every byte has been read.
    public var isAtEnd: Bool { offset == bytes.count }

    /// Throws `truncated` unless `count` more bytes are available.
    @inline(__always)
    public func require(_ count: Int) throws(WireError) {
        guard count >= 0, count <= remaining else {
            throw .truncated(needed: count, available: remaining)
        }
    }

    // MARK: Fixed-width values

    /// Reads a big-endian integer of `T`'s width.
    @inline(__always)
    public mutating func readInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(bigEndian: value)
    }

    public mutating func readUInt8() throws(WireError) -> UInt8 { try readInteger() }
    public mutating func readUInt16() throws(WireError) -> UInt16 { try readInteger() }
    public mutating func readUInt32() throws(WireError) -> UInt32 { try readInteger() }
    public mutating func readUInt64() throws(WireError) -> UInt64 { try readInteger() }
    public mutating func readInt64() throws(WireError) -> Int64 { try readInteger() }

    /// A boolean is one byte, 0 or 1; any other value is `malformed` (keeps encodings canonical).
    public mutating func readBool() throws(WireError) -> Bool {
        let start = offset
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other:
            offset = start
            throw .malformed("boolean byte \(hex(other, digits: 2)) is neither 0 nor 1")
        }
    }

    /// An enum is its one-byte raw value; a value with no case is `malformed`.
    public mutating func readEnum<E: RawRepresentable>(_: E.Type = E.self) throws(WireError) -> E
    where E.RawValue == UInt8 {
        let start = offset
        let raw = try readUInt8()
        guard let value = E(rawValue: raw) else {
            offset = start
            throw .malformed("\(hex(raw, digits: 2)) is not a valid \(E.self)")
        }
        return value
    }

    // MARK: Variable-length values

    /// A string is a UInt16 byte count then that many bytes of valid UTF-8.
    /// A count above `maxBytes` is `malformed` (checked before the bytes are looked at).
    public mutating func readString(maxBytes: Int = WireLimits.maxStringBytes) throws(WireError) -> String {
        let start = offset
        let count = Int(try readUInt16())
        guard count <= maxBytes else {
            offset = start
            throw .malformed("string of \(count) bytes exceeds the limit of \(maxBytes) bytes")
        }
        do {
            try require(count)
        } catch {
            offset = start
            throw error
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count])
        // ASCII, the common case, is valid UTF-8 as it is: checked a word at a time, it skips
        // the standard library's generic validation (a fifth of a busy receiver's time).
        let string: String
        if Self.isASCII(slice) {
            string = String(decoding: slice, as: UTF8.self)
        } else if let validated = String(validating: slice, as: UTF8.self) {
            string = validated
        } else {
            offset = start
            throw .malformed("string field is not valid UTF-8")
        }
        offset += count
        return string
    }

    /// A string field that is usually one of `common`: returns that very string (sharing its
    /// storage, so a string too long to be stored inline costs no allocation), else reads it as
    /// `readString` does. Only strings longer than 15 bytes are compared (shorter ones are stored
    /// inline anyway).
    public mutating func readString(preferring common: [String], maxBytes: Int = WireLimits.maxStringBytes) throws(WireError) -> String {
        guard remaining >= 2 else { return try readString(maxBytes: maxBytes) }
        let count = Int(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        guard count > 15, count <= maxBytes, count <= remaining - 2 else { return try readString(maxBytes: maxBytes) }
        let field = bytes.baseAddress! + offset + 2
        for candidate in common where candidate.utf8.count == count {
            let same = candidate.utf8.withContiguousStorageIfAvailable { utf8 in
                var index = 0
                while index + 8 <= count {
                    if field.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        != UnsafeRawPointer(utf8.baseAddress!).loadUnaligned(fromByteOffset: index, as: UInt64.self) { return false }
                    index += 8
                }
                while index < count {
                    if field.load(fromByteOffset: index, as: UInt8.self) != utf8[index] { return false }
                    index += 1
                }
                return true
            }
            if same == true {
                offset += 2 + count
                return candidate
            }
        }
        return try readString(maxBytes: maxBytes)
    }

    /// Whether every byte is below 0x80.
    @inline(__always)
    static func isASCII(_ slice: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        var bits: UInt64 = 0
        while index + 8 <= slice.count {
            bits |= slice.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < slice.count {
            bits |= UInt64(slice[index])
            index += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    /// A byte field is a UInt32 byte count then that many bytes. The count is checked against
    /// `maxCount` (`oversized`) and against the remaining input (`truncated`) before allocating.
    public mutating func readBytes(maxCount: Int = WireLimits.maxFramePayload) throws(WireError) -> [UInt8] {
        let start = offset
        let count = Int(try readUInt32())
        guard count <= maxCount else {
            offset = start
            throw .oversized(length: count, limit: maxCount)
        }
        do {
            return try readRawBytes(count: count)
        } catch {
            offset = start
            throw error
        }
    }

    /// Exactly `count` bytes with no prefix (their length is known from context).
    public mutating func readRawBytes(count: Int) throws(WireError) -> [UInt8] {
        try require(count)
        let result = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count]))
        offset += count
        return result
    }

    /// Every byte not yet read (an opaque tail whose length is the frame's).
    public mutating func readRemainingBytes() throws(WireError) -> [UInt8] {
        try readRawBytes(count: remaining)
    }

    /// Skips `count` bytes.
    public mutating func skip(_ count: Int) throws(WireError) {
        try require(count)
        offset += count
    }

    /// A nested body.
    public mutating func read<T: WireBody>(_: T.Type = T.self) throws(WireError) -> T {
        try T(from: &self)
    }

    /// A list is a UInt32 element count then the elements. A count above `maxCount` is
    /// `oversized`; elements are appended as they are read, so memory grows with the input
    /// actually consumed, never with the declared count.
    public mutating func readArray<T>(
        maxCount: Int,
        _ element: (inout WireReader) throws(WireError) -> T
    ) throws(WireError) -> [T] {
        let count = Int(try readUInt32())
        guard count <= maxCount else { throw .oversized(length: count, limit: maxCount) }
        var result: [T] = []
        result.reserveCapacity(min(count, remaining, 4096))  // a hint only; never trusts the count
        for _ in 0 ..< count {
            result.append(try element(&self))
        }
        return result
    }

    /// A list of nested bodies (see `readArray(maxCount:_:)`).
    public mutating func readArray<T: WireBody>(of _: T.Type, maxCount: Int) throws(WireError) -> [T] {
        try readArray(maxCount: maxCount) { (reader: inout WireReader) throws(WireError) in try T(from: &reader) }
    }

    /// Every byte of a body must be consumed: leftovers are `malformed`, so each value has exactly
    /// one encoding and junk cannot ride along inside a valid frame.
    public func expectEnd() throws(WireError) {
        guard remaining == 0 else {
            throw .malformed("\(remaining) trailing bytes after the message body")
        }
    }
}
