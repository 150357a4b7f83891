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
    /// A membership datagram (UDP): probe plus piggybacked gossip.
    case membership = 0x10
    /// A membership push-pull sync (TCP).
    case membershipSync = 0x11
    /// Process groups: a request for the receiver's full groups state.
    case groupsDiscover = 0x20
    /// Process groups: the sender's full groups state (the answer to a discover).
    case groupsSync = 0x21
    /// Process groups: numbered joins and leaves of the sender's members.
    case groupsDelta = 0x22
    /// Process groups: the sender's latest change number.
    case groupsDigest = 0x23
    /// A message for one group member.
    case memberMessage = 0x24
    /// An event for one member of an emitter group.
    case emitterDelivery = 0x25
    /// The answer to an emitter delivery that asked for one.
    case emitterAck = 0x26
    /// A message published on a topic, for the receiving node's subscribers.
    case topicMessage = 0x27
    /// Plain broadcast events for members of the receiving node, many to a frame.
    case emitterBatch = 0x28
    /// Replicated stores: what the sender has seen (a causal context). The payloads of the three
    /// replication types are decoded by ChorusReplication, which knows the stores' keys and values.
    case replicaDigest = 0x30
    /// Replicated stores: writes for the receiver.
    case replicaDeltas = 0x31
    /// Replicated stores: one part of a snapshot of the sender's whole replica.
    case replicaSnapshotPart = 0x32
    /// A frame sealed under the cluster's keyring (ChorusSeal): it holds another frame, encrypted
    /// and authenticated. Opened by the transport before anything parses what it holds.
    case sealed = 0x40
    /// Opaque payload used by transport tests and the transport benchmark; nodes count and drop it.
    case transportProbe = 0x7F
}
