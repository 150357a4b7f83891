/// Why a frame or a message body was rejected.
///
/// Decoders never trap on bad input: every way a byte sequence can fail to be a valid
/// frame maps to one of these cases, and a frame that fails is dropped, never half-applied.
public enum WireError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The input ends before what the header or a length prefix says it contains.
    case truncated(needed: Int, available: Int)
    /// The first two bytes are not `FrameHeader.magic`: the peer does not speak this protocol.
    case badMagic(UInt16)
    /// The peer speaks a version of the frame format this node does not understand.
    case unsupportedVersion(UInt8)
    /// The header names a message type this version does not define.
    case unknownType(UInt8)
    /// A declared length is above the limit; rejected from the declaration alone, before any
    /// byte of the body is read or any buffer for it is allocated.
    case oversized(length: Int, limit: Int)
    /// Anything else: invalid UTF-8, a bad enum raw value, trailing bytes, a field over its limit.
    case malformed(String)

    public var description: String {
        switch self {
        case let .truncated(needed, available):
            return "truncated input: needed \(needed) bytes but only \(available) available"
        case let .badMagic(magic):
            return "bad magic \(hex(magic, digits: 4)) (expected \(hex(FrameHeader.magic, digits: 4)))"
        case let .unsupportedVersion(version):
            return "unsupported wire version \(version) (this node speaks version \(FrameHeader.currentVersion))"
        case let .unknownType(type):
            return "unknown message type \(hex(type, digits: 2))"
        case let .oversized(length, limit):
            return "declared length \(length) bytes exceeds the limit of \(limit) bytes"
        case let .malformed(reason):
            return "malformed message: \(reason)"
        }
    }
}

/// `0x` followed by `digits` uppercase hex digits, zero padded.
func hex(_ value: some BinaryInteger, digits: Int) -> String {
    let body = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: max(0, digits - body.count)) + body
}
