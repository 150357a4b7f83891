/// How a byte stream is cut into frames: a fixed-size header that tells the whole frame's length.
///
/// The loop module knows nothing of message types; the wire format (ChorusWire) or a test supplies
/// the rule, and the connection calls it once per frame on bytes it has not copied.
public protocol FrameFormat: Sendable {
    /// Bytes needed before `frameLength(header:)` can be asked.
    var headerSize: Int { get }
    /// The length of the whole frame (header included) that starts with `header`.
    /// Throws to reject the stream (bad magic, oversized length): the connection closes.
    func frameLength(header: UnsafeRawBufferPointer) throws -> Int
}

/// The plainest framing: a 4-byte big-endian payload length, then the payload.
public struct LengthPrefixedFrames: FrameFormat {
    /// The largest payload accepted; a longer declared length closes the connection before any
    /// memory is reserved for it.
    public let maxPayload: Int

    public init(maxPayload: Int = 16 * 1024 * 1024) { self.maxPayload = maxPayload }

    public var headerSize: Int { 4 }

    public func frameLength(header: UnsafeRawBufferPointer) throws -> Int {
        let length = Int(header.loadUnaligned(as: UInt32.self).bigEndian)
        guard length <= maxPayload else { throw FrameTooLarge(length: length, limit: maxPayload) }
        return 4 + length
    }

    /// Writes the 4-byte prefix for a payload of `length` bytes.
    public static func writeHeader(length: Int, to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: UInt32(length).bigEndian, as: UInt32.self)
    }
}

/// A declared frame length above the accepted limit.
public struct FrameTooLarge: Error, Sendable, CustomStringConvertible {
    public let length: Int
    public let limit: Int
    public var description: String { "frame of \(length) bytes exceeds the limit of \(limit)" }
}

/// A framing rule that declared a frame shorter than its own header (a broken `FrameFormat`).
public struct FrameTooShort: Error, Sendable, CustomStringConvertible {
    public let length: Int
    public let headerSize: Int
    public var description: String { "frame length \(length) is shorter than the \(headerSize)-byte header" }
}
