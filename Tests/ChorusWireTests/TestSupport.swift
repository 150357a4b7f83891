#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChorusTestSupport
import Testing
@testable import ChorusWire

/// A frame assembled by hand, so tests can break any header field.
func craftFrame(
    magic: UInt16 = FrameHeader.magic,
    version: UInt8 = FrameHeader.currentVersion,
    type: UInt8,
    declaredLength: UInt32? = nil,
    payload: [UInt8] = []
) -> [UInt8] {
    var writer = WireWriter()
    writer.writeUInt16(magic)
    writer.writeUInt8(version)
    writer.writeUInt8(type)
    writer.writeUInt32(declaredLength ?? UInt32(payload.count))
    writer.writeRawBytes(payload)
    return writer.finish()
}

/// The error `body` throws, or nil if it returns. Any error other than a `WireError` is a test failure.
func wireError(_ body: () throws -> some Any) -> WireError? {
    do {
        _ = try body()
        return nil
    } catch let error as WireError {
        return error
    } catch {
        Issue.record("expected a WireError, got \(error)")
        return nil
    }
}

/// A spread of valid messages: every type, empty and maximal fields, unicode.
func sampleMember(_ name: String) -> MemberID {
    MemberID(name: name, uid: NodeUID(rawValue: UInt64(name.utf8.count) &* 0x9E37_79B9_7F4A_7C15), generation: 1_763_800_000_000)
}

func sampleGossip(_ name: String, _ status: MemberStatus, meta: [UInt8]?, accuser: String = "") -> MemberGossip {
    MemberGossip(member: sampleMember(name), address: "127.0.0.1:7\(name.utf8.count)00",
                 state: MemberState(status, Incarnation(UInt64(name.utf8.count))), meta: meta, accuser: accuser)
}

let sampleMessages: [Message] = [
    .hello(Hello(cluster: "prod", node: "node-1", uid: NodeUID(rawValue: 0x0123_4567_89AB_CDEF),
                 bindAddress: "10.0.0.1:7946", software: "chorus 0.1.0")),
    .hello(Hello(cluster: "", node: "", uid: NodeUID(rawValue: 0), bindAddress: "", software: "")),
    .hello(Hello(cluster: "chœur-🎶", node: "ノード", uid: NodeUID(rawValue: .max),
                 bindAddress: "[::1]:7946", software: "e\u{301} \u{0}nul")),
    .hello(Hello(cluster: String(repeating: "x", count: WireLimits.maxStringBytes),
                 node: String(repeating: "é", count: WireLimits.maxStringBytes / 2),
                 uid: NodeUID(rawValue: 42),
                 bindAddress: String(repeating: "🎶", count: WireLimits.maxStringBytes / 4),
                 software: "a")),
    .ping(Ping(sequence: 0, sentAtNanos: 0)),
    .ping(Ping(sequence: 7, sentAtNanos: 1_700_000_000_000_000_000)),
    .pong(Pong(sequence: .max, sentAtNanos: .max)),
    .pong(Pong(echoing: Ping(sequence: 1, sentAtNanos: 2))),
    .membership(MembershipPacket(sender: sampleMember("n1"), senderAddress: "127.0.0.1:7301",
                                 probe: .ping(sequence: 7, target: sampleMember("n2")), gossip: [])),
    .membership(MembershipPacket(sender: sampleMember("n2"), senderAddress: "[::1]:7302",
                                 probe: .pingRequest(sequence: .max, target: sampleMember("n3"), targetAddress: "127.0.0.1:7303"),
                                 gossip: [sampleGossip("n3", .suspect, meta: nil, accuser: "n1"),
                                          sampleGossip("n4", .alive, meta: [1, 2, 3])])),
    .membership(MembershipPacket(sender: sampleMember("n3"), senderAddress: "h:1", probe: .ack(sequence: 0), gossip: [])),
    .membership(MembershipPacket(sender: sampleMember("n3"), senderAddress: "h:1", probe: .nack(sequence: 9),
                                 gossip: [sampleGossip("n5", .left, meta: [])])),
    .membership(MembershipPacket(sender: sampleMember("ノード"), senderAddress: "h:1", probe: .none,
                                 gossip: [sampleGossip("n6", .dead, meta: Array(repeating: 7, count: WireLimits.maxMemberMeta))])),
    .membershipSync(MembershipSync(sender: sampleMember("n1"), senderAddress: "127.0.0.1:7301", isReply: false, isJoin: true,
                                   members: (1...20).map { sampleGossip("m\($0)", .alive, meta: [UInt8($0)]) })),
    .membershipSync(MembershipSync(sender: sampleMember("n2"), senderAddress: "127.0.0.1:7302", isReply: true, isJoin: false,
                                   members: [])),
    .groupsDiscover(GroupsDiscover()),
    .groupsSync(GroupsSync(sequence: 0, scopes: [])),
    .groupsSync(GroupsSync(sequence: 42, scopes: [
        ScopeSnapshot(scope: "reckon_db_pg", groups: [GroupSnapshot(group: "orders", serials: [1, 1, 7]),
                                                      GroupSnapshot(group: "ノード", serials: [.max])]),
        ScopeSnapshot(scope: "s2", groups: []),
    ])),
    .groupsDelta(GroupsDelta(firstSequence: 1, changes: [GroupChange(.join, scope: "s", group: "g", serials: [3])])),
    .groupsDelta(GroupsDelta(firstSequence: 9, changes: [GroupChange(.join, scope: "s", group: "g", serials: [3, 3]),
                                                         GroupChange(.leave, scope: "s", group: "g", serials: [3]),
                                                         GroupChange(.leave, scope: "s", group: String(repeating: "é", count: 512), serials: [])])),
    .groupsDigest(GroupsDigest(sequence: .max)),
    .memberMessage(MemberMessage(to: GroupMemberID(node: NodeUID(rawValue: 1), serial: 2), from: nil, payload: [])),
    .memberMessage(MemberMessage(to: GroupMemberID(node: NodeUID(rawValue: .max), serial: .max),
                                 from: GroupMemberID(node: NodeUID(rawValue: 3), serial: 4), payload: Array(0...255))),
    .emitterDelivery(EmitterDelivery(to: GroupMemberID(node: NodeUID(rawValue: 5), serial: 6), group: "orders", ackID: 0,
                                     event: EmitterEvent(eventID: "e1", eventType: "OrderPlaced", streamID: "order-1"))),
    .emitterDelivery(EmitterDelivery(to: GroupMemberID(node: NodeUID(rawValue: 5), serial: 6), group: "g", ackID: .max,
                                     event: EmitterEvent(eventID: "e2", eventType: "t", streamID: "s", version: 9, data: Array(repeating: 1, count: 200),
                                                         metadata: [123, 125], tags: ["a", "ノード"], timestamp: -1, epochMicros: .max,
                                                         dataContentType: "application/octet-stream", metadataContentType: ""))),
    .emitterDelivery(EmitterDelivery(to: GroupMemberID(node: NodeUID(rawValue: 5), serial: 6), group: "g", ackID: 1,
                                     event: EmitterEvent(eventID: "", eventType: "", streamID: "", tags: []))),
    .emitterAck(EmitterAck(ackID: 1, accepted: true)),
    .emitterAck(EmitterAck(ackID: .max, accepted: false)),
    .topicMessage(TopicMessage(topic: "orders:$all", from: nil, payload: [])),
    .topicMessage(TopicMessage(topic: "t", from: GroupMemberID(node: NodeUID(rawValue: 8), serial: 9), payload: [1, 2])),
    .emitterBatch(EmitterBatch(node: NodeUID(rawValue: 5), items: [])),
    .emitterBatch(EmitterBatch(node: NodeUID(rawValue: .max), items: [
        EmitterBatch.Item(serial: 6, event: EmitterEvent(eventID: "e1", eventType: "OrderPlaced", streamID: "order-1")),
        EmitterBatch.Item(serial: .max, event: EmitterEvent(eventID: "e2", eventType: "t", streamID: "s", version: 9,
                                                            data: Array(repeating: 1, count: 200), metadata: [123, 125],
                                                            tags: ["a", "ノード"], timestamp: -1, epochMicros: .max,
                                                            dataContentType: "application/octet-stream", metadataContentType: "")),
    ])),
    .sealed(Array(0 ..< 60)),
    .transportProbe([]),
    .transportProbe([0xC4]),
    .transportProbe(Array(0 ... 255)),
    .replication(try! ReplicationFrame(type: .replicaDigest, payload: [0, 0, 0, 0, 0, 0, 0, 0, 1])),
    .replication(try! ReplicationFrame(type: .replicaDeltas, payload: [])),
    .replication(try! ReplicationFrame(type: .replicaSnapshotPart, payload: [9, 9, 9]))
]
