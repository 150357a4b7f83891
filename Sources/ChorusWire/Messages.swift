// Message bodies and the `Message` sum type.
//
// Adding a message type:
// 1. a case in `MessageType` with a new, never-used raw value;
// 2. a body type conforming to `WireBody` (encode(to:) + init(from:)), below;
// 3. a case in `Message`, and one arm in each of the three switches at the end of this file
//    (the compiler points at each one).
// No version bump is needed: an older node answers a frame of the new type with `unknownType`.

/// First frame on every node-to-node TCP connection, sent by both sides before anything else.
///
/// A node refuses (and closes) a connection whose hello names another cluster. The uid tells a
/// restarted node apart from its previous run at the same name and address.
public struct Hello: WireBody, Sendable, Equatable, Hashable {
    /// Cluster name; must equal the receiver's.
    public var cluster: String
    /// Sender's node name.
    public var node: String
    /// Sender's uid for this run of its process.
    public var uid: NodeUID
    /// `"host:port"` the sender listens on, so the receiver can dial back.
    public var bindAddress: String
    /// Sender's software and version, e.g. `"chorus 0.1.0"`; informational.
    public var software: String

    public init(cluster: String, node: String, uid: NodeUID, bindAddress: String, software: String) {
        self.cluster = cluster
        self.node = node
        self.uid = uid
        self.bindAddress = bindAddress
        self.software = software
    }

    /// cluster, node (strings), uid (UInt64), bindAddress, software (strings); each string at
    /// most `WireLimits.maxStringBytes` bytes of UTF-8.
    public func encode(to writer: inout WireWriter) {
        writer.writeString(cluster)
        writer.writeString(node)
        writer.writeUInt64(uid.rawValue)
        writer.writeString(bindAddress)
        writer.writeString(software)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cluster = try reader.readString()
        node = try reader.readString()
        uid = NodeUID(rawValue: try reader.readUInt64())
        bindAddress = try reader.readString()
        software = try reader.readString()
    }
}

/// Liveness and round-trip probe on a TCP connection. The receiver answers with a `Pong`
/// carrying the same fields, so the sender can match it and measure the round trip.
public struct Ping: WireBody, Sendable, Equatable, Hashable {
    /// Sender-chosen number identifying this ping among the outstanding ones.
    public var sequence: UInt64
    /// Sender's monotonic clock when sent, in nanoseconds; only the sender interprets it.
    public var sentAtNanos: UInt64

    public init(sequence: UInt64, sentAtNanos: UInt64) {
        self.sequence = sequence
        self.sentAtNanos = sentAtNanos
    }

    /// sequence, sentAtNanos: two UInt64, 16 bytes.
    public func encode(to writer: inout WireWriter) {
        writer.writeUInt64(sequence)
        writer.writeUInt64(sentAtNanos)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        sequence = try reader.readUInt64()
        sentAtNanos = try reader.readUInt64()
    }
}

/// The answer to a `Ping`: echoes its `sequence` and `sentAtNanos` unchanged.
public struct Pong: WireBody, Sendable, Equatable, Hashable {
    public var sequence: UInt64
    public var sentAtNanos: UInt64

    public init(sequence: UInt64, sentAtNanos: UInt64) {
        self.sequence = sequence
        self.sentAtNanos = sentAtNanos
    }

    /// The pong that answers `ping`.
    public init(echoing ping: Ping) {
        self.init(sequence: ping.sequence, sentAtNanos: ping.sentAtNanos)
    }

    /// sequence, sentAtNanos: two UInt64, 16 bytes.
    /// The same layout as the `Ping` it answers.
    public func encode(to writer: inout WireWriter) {
        Ping(sequence: sequence, sentAtNanos: sentAtNanos).encode(to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        self.init(echoing: try Ping(from: &reader))
    }
}

/// Every message a frame can carry; the frame header's type byte says which.
public enum Message: Sendable, Equatable, Hashable, CustomStringConvertible {
    case hello(Hello)
    case ping(Ping)
    case pong(Pong)
    /// Opaque bytes: the whole payload, no inner length prefix.
    case membership(MembershipPacket)
    case membershipSync(MembershipSync)
    case groupsDiscover(GroupsDiscover)
    case groupsSync(GroupsSync)
    case groupsDelta(GroupsDelta)
    case groupsDigest(GroupsDigest)
    case memberMessage(MemberMessage)
    case emitterDelivery(EmitterDelivery)
    case emitterAck(EmitterAck)
    case topicMessage(TopicMessage)
    case emitterBatch(EmitterBatch)
    /// A replication message (`replicaDigest`, `replicaDeltas` or `replicaSnapshotPart`) as opaque
    /// payload bytes: ChorusReplication decodes them.
    case replication(ReplicationFrame)
    /// A sealed frame's envelope (key id, salt, counter, ciphertext, tag) as opaque bytes:
    /// ChorusSeal opens it.
    case sealed([UInt8])
    case transportProbe([UInt8])

    /// The header type byte for this message.
    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .ping: .ping
        case .pong: .pong
        case .membership: .membership
        case .membershipSync: .membershipSync
        case .groupsDiscover: .groupsDiscover
        case .groupsSync: .groupsSync
        case .groupsDelta: .groupsDelta
        case .groupsDigest: .groupsDigest
        case .memberMessage: .memberMessage
        case .emitterDelivery: .emitterDelivery
        case .emitterAck: .emitterAck
        case .topicMessage: .topicMessage
        case .emitterBatch: .emitterBatch
        case let .replication(frame): frame.type
        case .sealed: .sealed
        case .transportProbe: .transportProbe
        }
    }

    /// Like the default, but a probe shows its size instead of its bytes.
    public var description: String {
        switch self {
        case let .hello(hello): "hello(\(hello))"
        case let .ping(ping): "ping(\(ping))"
        case let .pong(pong): "pong(\(pong))"
        case let .membership(packet): "membership(\(packet.probe), \(packet.gossip.count) gossip)"
        case let .membershipSync(sync): "membershipSync(\(sync.members.count) members)"
        case .groupsDiscover: "groupsDiscover"
        case let .groupsSync(sync): "groupsSync(#\(sync.sequence), \(sync.scopes.count) scopes)"
        case let .groupsDelta(delta): "groupsDelta(#\(delta.firstSequence)..#\(delta.lastSequence))"
        case let .groupsDigest(digest): "groupsDigest(#\(digest.sequence))"
        case let .memberMessage(message): "memberMessage(to \(message.to), \(message.payload.count) bytes)"
        case let .emitterDelivery(delivery): "emitterDelivery(to \(delivery.to), event \(delivery.event.eventID), ack \(delivery.ackID))"
        case let .emitterAck(ack): "emitterAck(\(ack.ackID), \(ack.accepted ? "accepted" : "refused"))"
        case let .topicMessage(message): "topicMessage(\(message.topic), \(message.payload.count) bytes)"
        case let .emitterBatch(batch): "emitterBatch(\(batch.node), \(batch.items.count) events)"
        case let .replication(frame): "\(frame.type)(\(frame.payload.count) bytes)"
        case let .sealed(bytes): "sealed(\(bytes.count) bytes)"
        case let .transportProbe(bytes): "transportProbe(\(bytes.count) bytes)"
        }
    }

    /// Appends the payload (no header).
    func encodePayload(to writer: inout WireWriter) {
        switch self {
        case let .hello(body): body.encode(to: &writer)
        case let .ping(body): body.encode(to: &writer)
        case let .pong(body): body.encode(to: &writer)
        case let .membership(body): body.encode(to: &writer)
        case let .membershipSync(body): body.encode(to: &writer)
        case let .groupsDiscover(body): body.encode(to: &writer)
        case let .groupsSync(body): body.encode(to: &writer)
        case let .groupsDelta(body): body.encode(to: &writer)
        case let .groupsDigest(body): body.encode(to: &writer)
        case let .memberMessage(body): body.encode(to: &writer)
        case let .emitterDelivery(body): body.encode(to: &writer)
        case let .emitterAck(body): body.encode(to: &writer)
        case let .topicMessage(body): body.encode(to: &writer)
        case let .emitterBatch(body): body.encode(to: &writer)
        case let .replication(frame): writer.writeRawBytes(frame.payload)
        case let .sealed(bytes): writer.writeRawBytes(bytes)
        case let .transportProbe(bytes): writer.writeRawBytes(bytes)
        }
    }

    /// Reads the payload of a frame of type `type`; the caller checks that it was fully consumed.
    static func decodePayload(type: MessageType, from reader: inout WireReader) throws(WireError) -> Message {
        switch type {
        case .hello: .hello(try Hello(from: &reader))
        case .ping: .ping(try Ping(from: &reader))
        case .pong: .pong(try Pong(from: &reader))
        case .membership: .membership(try MembershipPacket(from: &reader))
        case .membershipSync: .membershipSync(try MembershipSync(from: &reader))
        case .groupsDiscover: .groupsDiscover(try GroupsDiscover(from: &reader))
        case .groupsSync: .groupsSync(try GroupsSync(from: &reader))
        case .groupsDelta: .groupsDelta(try GroupsDelta(from: &reader))
        case .groupsDigest: .groupsDigest(try GroupsDigest(from: &reader))
        case .memberMessage: .memberMessage(try MemberMessage(from: &reader))
        case .emitterDelivery: .emitterDelivery(try EmitterDelivery(from: &reader))
        case .emitterAck: .emitterAck(try EmitterAck(from: &reader))
        case .topicMessage: .topicMessage(try TopicMessage(from: &reader))
        case .emitterBatch: .emitterBatch(try EmitterBatch(from: &reader))
        case .replicaDigest, .replicaDeltas, .replicaSnapshotPart:
            .replication(try ReplicationFrame(type: type, payload: reader.readRemainingBytes()))
        case .sealed: .sealed(try reader.readRemainingBytes())
        case .transportProbe: .transportProbe(try reader.readRemainingBytes())
        }
    }
}

/// The payload of a replication frame, opaque at this layer.
public struct ReplicationFrame: Sendable, Equatable, Hashable {
    public let type: MessageType
    public var payload: [UInt8]

    /// Throws `malformed` for a type that is not a replication type.
    public init(type: MessageType, payload: [UInt8]) throws(WireError) {
        guard Self.types.contains(type) else { throw .malformed("\(type) is not a replication message") }
        self.type = type
        self.payload = payload
    }

    /// The frame types replication uses.
    public static let types: Set<MessageType> = [.replicaDigest, .replicaDeltas, .replicaSnapshotPart]
}
