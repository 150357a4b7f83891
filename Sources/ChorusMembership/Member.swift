import ChorusCore
import ChorusWire

/// A member as this node sees it.
public struct Member: Sendable, Equatable, CustomStringConvertible {
    public var id: MemberID
    /// Its node-to-node address, `"host:port"`.
    public var address: String
    public var state: MemberState
    public var meta: [UInt8]
    /// When its state last changed here.
    public var since: ProtocolTime

    public init(id: MemberID, address: String, state: MemberState, meta: [UInt8], since: ProtocolTime) {
        self.id = id
        self.address = address
        self.state = state
        self.meta = meta
        self.since = since
    }

    public var description: String { "\(id) \(state) at \(address)" }

    /// Alive or suspect: still probed and gossiped to.
    public var isActive: Bool { state.status == .alive || state.status == .suspect }

    func gossip(includingMeta: Bool, accuser: String = "") -> MemberGossip {
        MemberGossip(member: id, address: address, state: state, meta: includingMeta ? meta : nil, accuser: accuser)
    }
}

/// What changed in the membership, for the Swift API's event stream and the admin API.
public enum MembershipEvent: Sendable, Equatable {
    /// A member appeared (or came back after being dead or left).
    case joined(Member)
    /// A member missed its probes and may refute.
    case suspect(Member)
    /// A suspect member refuted the suspicion.
    case alive(Member)
    /// A member did not refute in time, or its process is gone.
    case dead(Member)
    /// A member left gracefully.
    case left(Member)
    /// A member's metadata or address changed.
    case updated(Member)

    public var member: Member {
        switch self {
        case let .joined(m), let .suspect(m), let .alive(m), let .dead(m), let .left(m), let .updated(m): m
        }
    }
}

/// What the membership core asks its shell to do.
public enum SWIMDirective: Sendable, Equatable {
    /// Send a membership packet: as a datagram, or over a stream (the TCP fallback ping).
    case send(MembershipPacket, to: String, reliable: Bool)
    /// Send a push-pull sync over a stream.
    case sync(MembershipSync, to: String)
    /// Report a change.
    case event(MembershipEvent)
}
