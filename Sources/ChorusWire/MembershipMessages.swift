// Membership (SWIM) messages: the vocabulary the failure detector and its gossip speak.
// The rules that interpret them live in ChorusMembership; these are the shapes on the wire.

/// A member's status as gossiped. See ChorusMembership for the precedence rules.
public enum MemberStatus: UInt8, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case alive = 0, suspect = 1, dead = 2, left = 3
    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }
}

/// A member's own counter that only it raises, to refute suspicions about itself (SWIM §4.2).
/// 64 bits: a refutation may jump past a large value without wrapping (memberlist uses 32).
public struct Incarnation: RawRepresentable, Comparable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
    public static let zero = Incarnation(0)
    public static func < (lhs: Incarnation, rhs: Incarnation) -> Bool { lhs.rawValue < rhs.rawValue }
    public var next: Incarnation { Incarnation(rawValue &+ 1) }
    public var description: String { "\(rawValue)" }
}

/// A status at an incarnation: the unit of gossip about a member.
public struct MemberState: Hashable, Sendable, CustomStringConvertible {
    public var status: MemberStatus
    public var incarnation: Incarnation

    public init(_ status: MemberStatus, _ incarnation: Incarnation) {
        self.status = status
        self.incarnation = incarnation
    }

    public var description: String { "\(status)@\(incarnation)" }
}

/// Who a member is: its name, and which run of its process.
///
/// A node that restarts keeps its name and gets a new uid and a later `generation` (its start
/// time in nanoseconds of the wall clock, from the shell). News about a later generation replaces the member;
/// news about an earlier one is about a process that no longer exists and is ignored
/// (memberlist #311, swift-cluster-membership #67).
public struct MemberID: Hashable, Sendable, CustomStringConvertible, WireBody {
    public var name: String
    public var uid: NodeUID
    public var generation: UInt64

    public init(name: String, uid: NodeUID, generation: UInt64) {
        self.name = name
        self.uid = uid
        self.generation = generation
    }

    /// Whether this identity is a later run of the same name than `other` (generation, then uid).
    public func isNewer(than other: MemberID) -> Bool {
        generation != other.generation ? generation > other.generation : uid > other.uid
    }

    public var description: String { "\(name)#\(uid)" }

    /// Bytes this identity takes on the wire.
    public var encodedSize: Int { 2 + name.utf8.count + 8 + 8 }

    public func encode(to writer: inout WireWriter) {
        writer.writeString(name, maxBytes: WireLimits.maxMemberName)
        writer.writeUInt64(uid.rawValue)
        writer.writeUInt64(generation)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        name = try reader.readString(maxBytes: WireLimits.maxMemberName)
        uid = NodeUID(rawValue: try reader.readUInt64())
        generation = try reader.readUInt64()
    }
}

/// News about one member, piggybacked on probes or carried whole in a sync.
public struct MemberGossip: Hashable, Sendable, CustomStringConvertible, WireBody {
    public var member: MemberID
    /// Its node-to-node address, `"host:port"`.
    public var address: String
    public var state: MemberState
    /// The member's metadata, or nil when left out to fit a datagram (syncs always carry it).
    public var meta: [UInt8]?
    /// Who raised a suspicion or death ("" otherwise): confirmations are counted per accuser.
    public var accuser: String

    public init(member: MemberID, address: String, state: MemberState, meta: [UInt8]?, accuser: String = "") {
        self.member = member
        self.address = address
        self.state = state
        self.meta = meta
        self.accuser = accuser
    }

    public var description: String { "\(member) \(state) at \(address)" }

    public func encode(to writer: inout WireWriter) {
        member.encode(to: &writer)
        writer.writeString(address, maxBytes: WireLimits.maxAddress)
        writer.writeEnum(state.status)
        writer.writeUInt64(state.incarnation.rawValue)
        writer.writeBool(meta != nil)
        if let meta { writer.writeBytes(meta, maxCount: WireLimits.maxMemberMeta) }
        writer.writeString(accuser, maxBytes: WireLimits.maxMemberName)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        member = try MemberID(from: &reader)
        address = try reader.readString(maxBytes: WireLimits.maxAddress)
        let status: MemberStatus = try reader.readEnum()
        state = MemberState(status, Incarnation(try reader.readUInt64()))
        meta = try reader.readBool() ? try reader.readBytes(maxCount: WireLimits.maxMemberMeta) : nil
        accuser = try reader.readString(maxBytes: WireLimits.maxMemberName)
    }

    /// Bytes this item takes in a packet (computed, not encoded).
    public var encodedSize: Int {
        member.encodedSize + 2 + address.utf8.count + 1 + 8 + 1 + (meta.map { 4 + $0.count } ?? 0)
            + 2 + accuser.utf8.count
    }
}

/// The probe a membership datagram carries (SWIM's failure detector).
public enum SWIMProbe: Hashable, Sendable {
    /// "Are you alive?" to `target`; a member only answers when it is that exact identity.
    case ping(sequence: UInt32, target: MemberID)
    /// "Probe `target` for me" (indirect probe through a helper).
    case pingRequest(sequence: UInt32, target: MemberID, targetAddress: String)
    /// "Yes", for the ping (or the relayed ping) with this sequence.
    case ack(sequence: UInt32)
    /// A helper's "I asked, no answer yet" (Lifeguard): tells the requester its helper is alive.
    case nack(sequence: UInt32)
    /// No probe: the datagram carries gossip only.
    case none

    fileprivate enum Kind: UInt8 { case ping = 1, pingRequest = 2, ack = 3, nack = 4, none = 5 }
}

/// One membership datagram: who sends it, a probe, and piggybacked gossip.
public struct MembershipPacket: Hashable, Sendable, WireBody {
    /// Bytes of the payload (without the frame header), computed, not encoded.
    public var encodedSize: Int {
        let probeSize: Int
        switch probe {
        case let .ping(_, target): probeSize = 1 + 4 + target.encodedSize
        case let .pingRequest(_, target, address): probeSize = 1 + 4 + target.encodedSize + 2 + address.utf8.count
        case .ack, .nack: probeSize = 1 + 4
        case .none: probeSize = 1
        }
        return sender.encodedSize + 2 + senderAddress.utf8.count + probeSize + 4
            + gossip.reduce(0) { $0 + $1.encodedSize }
    }

    public var sender: MemberID
    public var senderAddress: String
    public var probe: SWIMProbe
    public var gossip: [MemberGossip]

    public init(sender: MemberID, senderAddress: String, probe: SWIMProbe, gossip: [MemberGossip]) {
        self.sender = sender
        self.senderAddress = senderAddress
        self.probe = probe
        self.gossip = gossip
    }

    public func encode(to writer: inout WireWriter) {
        sender.encode(to: &writer)
        writer.writeString(senderAddress, maxBytes: WireLimits.maxAddress)
        switch probe {
        case let .ping(sequence, target):
            writer.writeEnum(SWIMProbe.Kind.ping)
            writer.writeUInt32(sequence)
            target.encode(to: &writer)
        case let .pingRequest(sequence, target, address):
            writer.writeEnum(SWIMProbe.Kind.pingRequest)
            writer.writeUInt32(sequence)
            target.encode(to: &writer)
            writer.writeString(address, maxBytes: WireLimits.maxAddress)
        case let .ack(sequence):
            writer.writeEnum(SWIMProbe.Kind.ack)
            writer.writeUInt32(sequence)
        case let .nack(sequence):
            writer.writeEnum(SWIMProbe.Kind.nack)
            writer.writeUInt32(sequence)
        case .none:
            writer.writeEnum(SWIMProbe.Kind.none)
        }
        writer.writeArray(gossip, maxCount: WireLimits.maxGossipPerPacket)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        sender = try MemberID(from: &reader)
        senderAddress = try reader.readString(maxBytes: WireLimits.maxAddress)
        let kind: SWIMProbe.Kind = try reader.readEnum()
        switch kind {
        case .ping: probe = .ping(sequence: try reader.readUInt32(), target: try MemberID(from: &reader))
        case .pingRequest:
            probe = .pingRequest(sequence: try reader.readUInt32(), target: try MemberID(from: &reader),
                                 targetAddress: try reader.readString(maxBytes: WireLimits.maxAddress))
        case .ack: probe = .ack(sequence: try reader.readUInt32())
        case .nack: probe = .nack(sequence: try reader.readUInt32())
        case .none: probe = .none
        }
        gossip = try reader.readArray(of: MemberGossip.self, maxCount: WireLimits.maxGossipPerPacket)
    }
}

/// A full exchange of membership state over TCP (push-pull): on join, periodically, and when
/// reconnecting to a member believed dead. The receiver of a request merges it and answers with
/// its own state (`isReply`).
public struct MembershipSync: Hashable, Sendable, WireBody {
    public var sender: MemberID
    public var senderAddress: String
    public var isReply: Bool
    /// The sender is joining: the receiver announces it to the cluster.
    public var isJoin: Bool
    public var members: [MemberGossip]

    public init(sender: MemberID, senderAddress: String, isReply: Bool, isJoin: Bool, members: [MemberGossip]) {
        self.sender = sender
        self.senderAddress = senderAddress
        self.isReply = isReply
        self.isJoin = isJoin
        self.members = members
    }

    public func encode(to writer: inout WireWriter) {
        sender.encode(to: &writer)
        writer.writeString(senderAddress, maxBytes: WireLimits.maxAddress)
        writer.writeBool(isReply)
        writer.writeBool(isJoin)
        writer.writeArray(members, maxCount: WireLimits.maxSyncMembers)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        sender = try MemberID(from: &reader)
        senderAddress = try reader.readString(maxBytes: WireLimits.maxAddress)
        isReply = try reader.readBool()
        isJoin = try reader.readBool()
        members = try reader.readArray(of: MemberGossip.self, maxCount: WireLimits.maxSyncMembers)
    }
}
