/// Builds an encoding: big-endian integers and length-prefixed fields, mirroring `WireReader`.
///
/// Writing never traps. A value that breaks a wire rule (a string over its limit, a list over
/// its count) is recorded in `violation` and replaced by an empty field, so the output stays
/// well formed; `finish()` then refuses to hand it out. `WireBody.validate()` and
/// `WireCodec.validate(_:)` report the violation as the `WireError` a peer would raise.
public struct WireWriter: Sendable {
    /// The encoding so far, then zeroed spare room: writes store into the room in place (one
    /// uniqueness check each, no generic append), and it grows by doubling.
    private var storage: [UInt8]
    /// Bytes written so far (including any the writer started with).
    public private(set) var count: Int
    /// The first rule the written values broke, if any.
    public private(set) var violation: WireError?

    public init(reservingCapacity capacity: Int = 0) {
        storage = [UInt8](repeating: 0, count: capacity)
        count = 0
    }

    /// Continues after the existing `bytes` (which are kept as they are).
    public init(appendingTo bytes: [UInt8]) {
        storage = bytes
        count = bytes.count
    }

    /// The encoding so far (a copy; `finish()` hands over the storage itself).
    public var bytes: [UInt8] { Array(storage[..<count]) }

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
        storage.removeSubrange(count...)
        return storage
    }

    // MARK: Room

    /// Makes room for `size` more bytes.
    @inline(__always)
    private mutating func reserve(_ size: Int) {
        if storage.count - count < size { grow(size) }
    }

    @inline(never)
    private mutating func grow(_ size: Int) {
        // Within the capacity, a little room at a time (the writer may be appending one frame to
        // a large buffer, and `finish()` cuts the unused room off again); past it, double.
        let spare = storage.capacity - storage.count
        let room = spare >= size ? min(spare, max(size, 512)) : max(size, storage.count, 256)
        if room <= Self.zeros.count {
            storage.append(contentsOf: Self.zeros[..<room])
        } else {
            storage.append(contentsOf: repeatElement(0, count: room))
        }
    }

    /// Zeros to grow the room from (appending a slice of an array is a plain copy).
    private static let zeros = [UInt8](repeating: 0, count: 4096)

    /// `size` zero bytes (a header to be filled in later).
    mutating func writeZeros(_ size: Int) {
        put(size) { $0.initializeMemory(as: UInt8.self, repeating: 0, count: size) }
    }

    /// Stores `size` bytes at the end through `body`, which must write all of them.
    @inline(__always)
    private mutating func put(_ size: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        reserve(size)
        let offset = count
        storage.withUnsafeMutableBytes { body($0.baseAddress! + offset) }
        count += size
    }

    /// Appends raw bytes.
    @inline(__always)
    private mutating func put(_ source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress, source.count > 0 else { return }
        put(source.count) { $0.copyMemory(from: base, byteCount: source.count) }
    }

    // MARK: Fixed-width values

    /// Appends `value` big endian.
    @inline(__always)
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        put(MemoryLayout<T>.size) { $0.storeBytes(of: value.bigEndian, as: T.self) }
    }

    public mutating func writeUInt8(_ value: UInt8) { writeInteger(value) }
    public mutating func writeUInt16(_ value: UInt16) { writeInteger(value) }
    public mutating func writeUInt32(_ value: UInt32) { writeInteger(value) }
    public mutating func writeUInt64(_ value: UInt64) { writeInteger(value) }
    public mutating func writeInt64(_ value: Int64) { writeInteger(value) }

    /// One byte: 1 for true, 0 for false.
    public mutating func writeBool(_ value: Bool) { writeInteger(UInt8(value ? 1 : 0)) }

    /// One byte: the raw value.
    public mutating func writeEnum<E: RawRepresentable>(_ value: E) where E.RawValue == UInt8 {
        writeInteger(value.rawValue)
    }

    // MARK: Variable-length values

    /// A UInt16 byte count then the UTF-8 bytes. Over `maxBytes` is a violation (`malformed`,
    /// as the reader would report) and an empty string is written instead.
    public mutating func writeString(_ value: String, maxBytes: Int = WireLimits.maxStringBytes) {
        let limit = min(maxBytes, Int(UInt16.max))
        let length = value.utf8.count
        guard length <= limit else {
            recordViolation(.malformed("string of \(length) bytes exceeds the limit of \(limit) bytes"))
            writeUInt16(0)
            return
        }
        writeUInt16(UInt16(length))
        let copied: Void? = value.utf8.withContiguousStorageIfAvailable { put(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            var value = value
            value.withUTF8 { put(UnsafeRawBufferPointer($0)) }
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
        writeRawBytes(value)
    }

    /// The bytes with no prefix (their length is known from context).
    public mutating func writeRawBytes(_ value: some Sequence<UInt8>) {
        let copied: Void? = value.withContiguousStorageIfAvailable { put(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            for byte in value { writeInteger(byte) }
        }
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
        overwrite(at: offset, count: 4) { $0.storeBytes(of: value.bigEndian, as: UInt32.self) }
    }

    /// Lets `body` overwrite `count` already-written bytes starting at `offset`.
    mutating func overwrite(at offset: Int, count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count, "overwrite outside the written bytes")
        storage.withUnsafeMutableBytes { body(UnsafeMutableRawBufferPointer(rebasing: $0[offset ..< offset + count])) }
    }
}
