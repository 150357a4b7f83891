// Process-group (pg) messages: what nodes tell each other about their own members.
// The rules that interpret them live in ChorusGroups; these are the shapes on the wire.
//
// A node only ever speaks of its own members, so member ids travel as serials: the node part
// is the sender's uid, known from the link the message came on. A node cannot, by construction,
// put a member into another node's name.

/// A group member: an endpoint on one run of one node.
///
/// `node` is the uid of the node run that owns it, so members of a restarted node are never taken
/// for the old ones; `serial` is that node's own counter. Text form: `<16 hex digits>.<serial>`,
/// e.g. `00c0ffee00c0ffee.7`.
public struct GroupMemberID: WireBody, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var node: NodeUID
    public var serial: UInt64

    public init(node: NodeUID, serial: UInt64) {
        self.node = node
        self.serial = serial
    }

    /// Parses the text form `description` produces; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let node = NodeUID(hex: parts[0]),
              parts[1].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let serial = UInt64(parts[1]) else { return nil }
        self.init(node: node, serial: serial)
    }

    public var description: String { "\(node).\(serial)" }

    public static func < (lhs: GroupMemberID, rhs: GroupMemberID) -> Bool {
        lhs.node != rhs.node ? lhs.node < rhs.node : lhs.serial < rhs.serial
    }

    /// node uid, serial: two UInt64, 16 bytes.
    public func encode(to writer: inout WireWriter) {
        writer.writeUInt64(node.rawValue)
        writer.writeUInt64(serial)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        node = NodeUID(rawValue: try reader.readUInt64())
        serial = try reader.readUInt64()
    }

    /// A sender that may be absent: a flag, then the id when present.
    static func encode(sender: GroupMemberID?, to writer: inout WireWriter) {
        writer.writeBool(sender != nil)
        sender?.encode(to: &writer)
    }

    static func readSender(from reader: inout WireReader) throws(WireError) -> GroupMemberID? {
        try reader.readBool() ? try GroupMemberID(from: &reader) : nil
    }
}

/// Limits of the groups vocabulary, checked by encoder and decoder alike.
public enum GroupsLimits {
    /// A scope name: at most 255 bytes of UTF-8.
    public static let maxScopeName = 255
    /// A group name: at most 1 KiB of UTF-8.
    public static let maxGroupName = WireLimits.maxStringBytes
    /// Member serials in one change or one group of a sync (a member joined n times counts n).
    public static let maxMembersPerGroup = 1_000_000
    /// Groups of one scope in a sync.
    public static let maxGroupsPerScope = 1_000_000
    /// Scopes in a sync.
    public static let maxScopes = 65_536
    /// Changes in one delta.
    public static let maxChangesPerDelta = 1_000_000
    /// Bytes of payload in a message to a member or on a topic: a frame less room for the envelope.
    public static let maxPayload = WireLimits.maxFramePayload - 4096
}

/// "Tell me all your members": sent to a peer that is new, back after a link loss, or whose
/// changes show a gap. The answer is a `GroupsSync`. Empty body.
public struct GroupsDiscover: WireBody, Sendable, Equatable, Hashable {
    public init() {}
    public func encode(to writer: inout WireWriter) {}
    public init(from reader: inout WireReader) throws(WireError) {}
}

/// One group of one scope in a sync: its name and the sender's members in it, a member
/// repeated once per join.
public struct GroupSnapshot: WireBody, Sendable, Equatable, Hashable {
    public var group: String
    public var serials: [UInt64]

    public init(group: String, serials: [UInt64]) {
        self.group = group
        self.serials = serials
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeString(group, maxBytes: GroupsLimits.maxGroupName)
        writer.writeArray(serials, maxCount: GroupsLimits.maxMembersPerGroup) { $0.writeUInt64($1) }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        group = try reader.readString(maxBytes: GroupsLimits.maxGroupName)
        serials = try reader.readArray(maxCount: GroupsLimits.maxMembersPerGroup) { (r: inout WireReader) throws(WireError) in
            try r.readUInt64()
        }
    }
}

/// The sender's groups in one scope.
public struct ScopeSnapshot: WireBody, Sendable, Equatable, Hashable {
    public var scope: String
    public var groups: [GroupSnapshot]

    public init(scope: String, groups: [GroupSnapshot]) {
        self.scope = scope
        self.groups = groups
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeString(scope, maxBytes: GroupsLimits.maxScopeName)
        writer.writeArray(groups, maxCount: GroupsLimits.maxGroupsPerScope)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        scope = try reader.readString(maxBytes: GroupsLimits.maxScopeName)
        groups = try reader.readArray(of: GroupSnapshot.self, maxCount: GroupsLimits.maxGroupsPerScope)
    }
}

/// Everything the sender's members have joined, in every scope, as of change `sequence`: the
/// receiver replaces its whole view of the sender with it (Erlang pg's sync).
public struct GroupsSync: WireBody, Sendable, Equatable, Hashable {
    /// The number of the sender's last change included; its next delta starts at `sequence + 1`.
    public var sequence: UInt64
    public var scopes: [ScopeSnapshot]

    public init(sequence: UInt64, scopes: [ScopeSnapshot]) {
        self.sequence = sequence
        self.scopes = scopes
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeUInt64(sequence)
        writer.writeArray(scopes, maxCount: GroupsLimits.maxScopes)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        sequence = try reader.readUInt64()
        scopes = try reader.readArray(of: ScopeSnapshot.self, maxCount: GroupsLimits.maxScopes)
    }
}

/// One join or leave of some of the sender's members, in one group of one scope.
public struct GroupChange: WireBody, Sendable, Equatable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        case join = 0
        case leave = 1
    }

    public var kind: Kind
    public var scope: String
    public var group: String
    /// The members that joined or left, a member repeated once per join or leave.
    public var serials: [UInt64]

    public init(_ kind: Kind, scope: String, group: String, serials: [UInt64]) {
        self.kind = kind
        self.scope = scope
        self.group = group
        self.serials = serials
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeEnum(kind)
        writer.writeString(scope, maxBytes: GroupsLimits.maxScopeName)
        writer.writeString(group, maxBytes: GroupsLimits.maxGroupName)
        writer.writeArray(serials, maxCount: GroupsLimits.maxMembersPerGroup) { $0.writeUInt64($1) }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        kind = try reader.readEnum()
        scope = try reader.readString(maxBytes: GroupsLimits.maxScopeName)
        group = try reader.readString(maxBytes: GroupsLimits.maxGroupName)
        serials = try reader.readArray(maxCount: GroupsLimits.maxMembersPerGroup) { (r: inout WireReader) throws(WireError) in
            try r.readUInt64()
        }
    }
}

/// Consecutive changes of the sender: change `i` has number `firstSequence + i`.
public struct GroupsDelta: WireBody, Sendable, Equatable, Hashable {
    public var firstSequence: UInt64
    public var changes: [GroupChange]

    public init(firstSequence: UInt64, changes: [GroupChange]) {
        self.firstSequence = firstSequence
        self.changes = changes
    }

    /// The number of the last change it holds.
    public var lastSequence: UInt64 { firstSequence &+ UInt64(changes.count) &- 1 }

    public func encode(to writer: inout WireWriter) {
        if changes.isEmpty { writer.recordViolation(.malformed("a groups delta with no changes")) }
        writer.writeUInt64(firstSequence)
        writer.writeArray(changes, maxCount: GroupsLimits.maxChangesPerDelta)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        firstSequence = try reader.readUInt64()
        changes = try reader.readArray(of: GroupChange.self, maxCount: GroupsLimits.maxChangesPerDelta)
        guard !changes.isEmpty else { throw .malformed("a groups delta with no changes") }
        guard firstSequence > 0, firstSequence <= UInt64.max - UInt64(changes.count) else {
            throw .malformed("groups delta sequence \(firstSequence) out of range")
        }
    }
}

/// The sender's latest change number, sent now and then so that a peer that lost the last
/// delta notices it without waiting for the next one.
public struct GroupsDigest: WireBody, Sendable, Equatable, Hashable {
    public var sequence: UInt64

    public init(sequence: UInt64) { self.sequence = sequence }

    public func encode(to writer: inout WireWriter) { writer.writeUInt64(sequence) }

    public init(from reader: inout WireReader) throws(WireError) { sequence = try reader.readUInt64() }
}

/// A message for one member, from a member or from the sending node itself.
public struct MemberMessage: WireBody, Sendable, Equatable, Hashable {
    /// The receiver; its node part must be the receiving node's uid (a message for a member of
    /// an earlier run of the node is dropped).
    public var to: GroupMemberID
    /// The sending member; nil when the node sent it on its own account.
    public var from: GroupMemberID?
    public var payload: [UInt8]

    public init(to: GroupMemberID, from: GroupMemberID?, payload: [UInt8]) {
        self.to = to
        self.from = from
        self.payload = payload
    }

    /// to, a flag and the sender if any, then the payload with a UInt32 length.
    public func encode(to writer: inout WireWriter) {
        to.encode(to: &writer)
        GroupMemberID.encode(sender: from, to: &writer)
        writer.writeBytes(payload)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        to = try GroupMemberID(from: &reader)
        from = try GroupMemberID.readSender(from: &reader)
        payload = try reader.readBytes()
    }
}

/// A message published on a topic: one per node that has subscribers, which hands it to each of
/// its own (Phoenix.PubSub's shape).
public struct TopicMessage: WireBody, Sendable, Equatable, Hashable {
    public var topic: String
    /// The publishing member; nil when the node published on its own account.
    public var from: GroupMemberID?
    public var payload: [UInt8]

    public init(topic: String, from: GroupMemberID?, payload: [UInt8]) {
        self.topic = topic
        self.from = from
        self.payload = payload
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeString(topic, maxBytes: GroupsLimits.maxGroupName)
        GroupMemberID.encode(sender: from, to: &writer)
        writer.writeBytes(payload)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        topic = try reader.readString(maxBytes: GroupsLimits.maxGroupName)
        from = try GroupMemberID.readSender(from: &reader)
        payload = try reader.readBytes()
    }
}
