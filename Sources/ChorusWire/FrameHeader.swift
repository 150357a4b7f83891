/// The 8-byte header in front of every frame:
///
/// ```
/// offset 0  magic          2 bytes, big endian, 0xC40F
/// offset 2  version        1 byte, currently 1
/// offset 3  type           1 byte, a `MessageType` raw value
/// offset 4  payloadLength  4 bytes, big endian, bytes of payload that follow the header
/// ```
///
/// The header alone says how long the frame is, so a stream reader knows how many bytes to
/// wait for, and can refuse an oversized frame before buffering any of it.
public struct FrameHeader: Sendable, Equatable, Hashable {
    /// Bytes in a header.
    public static let size = 8
    /// First two bytes of every frame. Not ASCII, so a stray HTTP or TLS client fails at once.
    public static let magic: UInt16 = 0xC40F
    /// The frame format version this node writes and the only one it accepts. A change to the
    /// header or to any existing message body bumps it; adding a message type does not.
    public static let currentVersion: UInt8 = 1

    public var type: MessageType
    /// Bytes of payload after the header; at most `UInt32.max` on the wire.
    public var payloadLength: Int

    @inlinable
    public init(type: MessageType, payloadLength: Int) {
        self.type = type
        self.payloadLength = payloadLength
    }

    /// Header plus payload: the bytes a stream reader must have before decoding the frame.
    public var frameLength: Int { FrameHeader.size + payloadLength }

    /// Parses and validates a header from the first 8 bytes of `bytes` (later bytes are ignored).
    ///
    /// Checks run in order: enough bytes, magic, version, type, then the declared payload length
    /// against `maxPayload`. Only the 8 header bytes are read, so an oversized declaration is
    /// refused without touching or allocating anything for the payload.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxPayload: Int) throws(WireError) -> FrameHeader {
        guard bytes.count >= size else {
            throw .truncated(needed: size, available: bytes.count)
        }
        let magic = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard magic == Self.magic else { throw .badMagic(magic) }
        let version = bytes[2]
        guard version == currentVersion else { throw .unsupportedVersion(version) }
        guard let type = MessageType(rawValue: bytes[3]) else { throw .unknownType(bytes[3]) }
        let length = Int(UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7]))
        guard length <= maxPayload else { throw .oversized(length: length, limit: maxPayload) }
        return FrameHeader(type: type, payloadLength: length)
    }

    /// Writes the 8 header bytes at `into` (the caller guarantees 8 bytes of space).
    ///
    /// Precondition: `payloadLength` is in `0...UInt32.max`.
    @inlinable
    public func write(to into: UnsafeMutableRawPointer) {
        precondition(payloadLength >= 0 && UInt64(payloadLength) <= UInt64(UInt32.max),
                     "frame payload length \(payloadLength) does not fit the 4-byte length field")
        let length = UInt32(payloadLength)
        let bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
            UInt8(truncatingIfNeeded: Self.magic >> 8), UInt8(truncatingIfNeeded: Self.magic),
            Self.currentVersion, type.rawValue,
            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)
        )
        into.storeBytes(of: bytes, as: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8).self)
    }
}
