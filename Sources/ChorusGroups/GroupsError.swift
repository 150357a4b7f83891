import ChorusWire

/// Why a local call on groups was refused. Nothing changes when one is thrown.
public enum GroupsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Only a node's own members may join or leave through it (Erlang pg: `{nolocal, Pid}`).
    case notLocal(GroupMemberID)
    /// None of the members given was in the group (Erlang pg: `not_joined`).
    case notJoined
    /// The member has ended (terminated, released, or its mailbox cancelled); it cannot join.
    case memberEnded(GroupMemberID)
    /// The node has stopped; nothing can join or leave through it any more.
    case nodeStopped
    /// A message too large for a frame (`WireLimits.maxFramePayload` with its envelope).
    case payloadTooLarge(bytes: Int)
    /// A scope name must be 1 to `GroupsLimits.maxScopeName` bytes of UTF-8.
    case invalidScope(String)
    /// A group name must be 1 to `GroupsLimits.maxGroupName` bytes of UTF-8.
    case invalidGroup(String)

    public var description: String {
        switch self {
        case .notLocal(let member): "member \(member) belongs to another node; only local members join or leave here"
        case .notJoined: "not joined: none of the members is in the group"
        case .memberEnded(let member): "member \(member) has ended"
        case .nodeStopped: "the node has stopped"
        case .payloadTooLarge(let bytes): "a payload of \(bytes) bytes does not fit a frame (\(GroupsLimits.maxPayload) bytes at most)"
        case .invalidScope(let name): "invalid scope name \"\(name.prefix(64))\": 1 to \(GroupsLimits.maxScopeName) bytes"
        case .invalidGroup(let name): "invalid group name \"\(name.prefix(64))\": 1 to \(GroupsLimits.maxGroupName) bytes"
        }
    }
}
