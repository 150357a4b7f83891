import ChorusWire

/// One journal record: changes of keys, each a key and its new value or its removal, in order.
///
/// The encoding is the storage's own, so that it can fold a journal into rows without knowing what
/// the keys and values mean: the number of changes (4 bytes, big endian), then per change the key's
/// length (4 bytes) and bytes, then 0 for a removal, or 1, the value's length and bytes.
public struct JournalRecord: Sendable, Equatable {
    public let bytes: [UInt8]
    public let count: Int

    /// A record of `changes`, in order: each key and value encoded straight into the record (no
    /// buffer of their own); a nil value removes the key.
    ///
    /// Precondition: every key and value is valid (`WireBody.validate()`): the stores check what
    /// they write, and what a peer sent was decoded within the same limits.
    public init<Key: WireBody, Value: WireBody>(_ changes: [(Key, Value?)]) {
        precondition(changes.count <= Int(UInt32.max))
        var writer = WireWriter(reservingCapacity: 4 + changes.count * 64)
        writer.writeUInt32(UInt32(changes.count))
        // Encoded where they lie in the array's buffer: iterating the array would copy each pair.
        changes.withUnsafeBufferPointer { changes in
            for index in changes.indices {
                Self.writeLengthPrefixed(changes[index].0, to: &writer)
                if let value = changes[index].1 {
                    writer.writeUInt8(1)
                    Self.writeLengthPrefixed(value, to: &writer)
                } else {
                    writer.writeUInt8(0)
                }
            }
        }
        bytes = writer.finish()
        count = changes.count
    }

    /// A body's encoding after its length (4 bytes, written first and filled in after).
    private static func writeLengthPrefixed(_ body: some WireBody, to writer: inout WireWriter) {
        let at = writer.count
        writer.writeUInt32(0)
        body.encode(to: &writer)
        writer.setUInt32(UInt32(writer.count - at - 4), at: at)
    }

    /// The number of changes an encoded record holds (from its first four bytes).
    static func count(of record: UnsafeRawBufferPointer) -> Int {
        guard record.count >= 4 else { return 0 }
        return Int(record[0]) << 24 | Int(record[1]) << 16 | Int(record[2]) << 8 | Int(record[3])
    }

    /// Calls `body` with each change of an encoded record, in order (the buffers are slices of
    /// `record`, valid during the call). A record that does not parse is `corrupt`.
    static func forEachChange(in record: UnsafeRawBufferPointer, path: String,
                              _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) throws -> Void) throws {
        var offset = 4
        guard record.count >= 4 else {
            throw StorageError.corrupt(path: path, reason: "a journal record shorter than its header")
        }
        let declared = count(of: record)
        var seen = 0
        func take(_ count: Int) throws -> UnsafeRawBufferPointer {
            guard count >= 0, record.count - offset >= count else {
                throw StorageError.corrupt(path: path, reason: "a journal record ends in the middle of a change")
            }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: record[offset..<(offset + count)])
        }
        func length() throws -> Int {
            let raw = try take(4)
            return Int(raw[0]) << 24 | Int(raw[1]) << 16 | Int(raw[2]) << 8 | Int(raw[3])
        }
        while offset < record.count {
            let key = try take(try length())
            let flag = try take(1)[0]
            switch flag {
            case 0: try body(key, nil)
            case 1: try body(key, try take(try length()))
            default: throw StorageError.corrupt(path: path, reason: "a journal record holds an unknown change flag \(flag)")
            }
            seen += 1
        }
        guard seen == declared else {
            throw StorageError.corrupt(path: path, reason: "a journal record says \(declared) changes but holds \(seen)")
        }
    }
}
