import ChorusLoop
import ChorusWire

/// Cuts node-to-node TCP streams into ChorusWire frames: the 8-byte header is validated (magic,
/// version, type, length limit) before any memory is reserved for the payload.
public struct WireFraming: FrameFormat {
    public let maxPayload: Int

    public init(maxPayload: Int = WireLimits.maxFramePayload) { self.maxPayload = maxPayload }

    public var headerSize: Int { FrameHeader.size }

    public func frameLength(header: UnsafeRawBufferPointer) throws -> Int {
        let parsed = try FrameHeader.parse(header, maxPayload: maxPayload)
        return FrameHeader.size + parsed.payloadLength
    }
}
