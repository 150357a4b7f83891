/// The type byte of a frame header: which message the payload holds.
///
/// Raw values are part of the wire format: never renumber or reuse one. A new message
/// gets a new case here and a matching case in `Message` (see `Messages.swift`).
public enum MessageType: UInt8, Sendable, CaseIterable {
    /// First frame on every node-to-node TCP connection, in both directions.
    case hello = 1
    /// Liveness and round-trip time on a TCP connection.
    case ping = 2
    /// The answer to a `ping`, echoing its fields.
    case pong = 3
    /// Opaque payload used by transport tests and the transport benchmark; nodes count and drop it.
    /// A membership datagram (UDP): probe plus piggybacked gossip.
    case membership = 0x10
    /// A membership push-pull sync (TCP).
    case membershipSync = 0x11
    case transportProbe = 0x7F
}
