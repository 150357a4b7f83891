/// One journal record: changes of keys, each a key and its new value or its removal, in order.
///
/// The encoding is the storage's own, so that it can fold a journal into rows without knowing what
/// the keys and values mean: the number of changes (4 bytes, big endian), then per change the key's
/// length (4 bytes) and bytes, then 0 for a removal, or 1, the value's length and bytes.
public struct JournalRecord: Sendable, Equatable {
    public private(set) var bytes: [UInt8] = [0, 0, 0, 0]
    public private(set) var count = 0

    public init() {}

    /// The number of changes an encoded record holds (from its first four bytes).
    static func count(of record: UnsafeRawBufferPointer) -> Int {
        guard record.count >= 4 else { return 0 }
        return Int(record[0]) << 24 | Int(record[1]) << 16 | Int(record[2]) << 8 | Int(record[3])
    }

    /// Adds a change: `value` nil removes the key.
    public mutating func append(key: [UInt8], value: [UInt8]?) {
        Self.appendLength(key.count, to: &bytes)
        bytes.append(contentsOf: key)
        if let value {
            bytes.append(1)
            Self.appendLength(value.count, to: &bytes)
            bytes.append(contentsOf: value)
        } else {
            bytes.append(0)
        }
        count += 1
        precondition(count <= Int(UInt32.max))
        let value = UInt32(count)
        bytes[0] = UInt8(value >> 24)
        bytes[1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: value)
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        precondition(length <= Int(UInt32.max))
        let value = UInt32(length)
        bytes.append(contentsOf: [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                                  UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
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
