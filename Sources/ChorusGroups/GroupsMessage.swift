import ChorusWire

/// The messages of the groups protocol, as the core takes and gives them.
public enum GroupsMessage: Sendable, Equatable {
    case discover
    case sync(GroupsSync)
    case delta(GroupsDelta)
    case digest(GroupsDigest)

    /// The frame message that carries it.
    public var wire: Message {
        switch self {
        case .discover: .groupsDiscover(GroupsDiscover())
        case .sync(let body): .groupsSync(body)
        case .delta(let body): .groupsDelta(body)
        case .digest(let body): .groupsDigest(body)
        }
    }

    /// The groups message a frame carries, or nil for any other kind of message.
    public init?(_ message: Message) {
        switch message {
        case .groupsDiscover: self = .discover
        case .groupsSync(let body): self = .sync(body)
        case .groupsDelta(let body): self = .delta(body)
        case .groupsDigest(let body): self = .digest(body)
        default: return nil
        }
    }
}

/// What the core asks its shell to do.
public enum GroupsDirective: Sendable, Equatable {
    /// Send one message to each of these peers (one encoding serves them all).
    case send(GroupsMessage, to: [NodeUID])
    /// Tell monitors of the scope and of the group.
    case notify(GroupNotification)
}
