import ChorusWire

/// A change seen by monitors: members that joined or left one group of one scope, a member
/// listed once per join or leave (Erlang pg's `{Ref, join | leave, Group, Pids}`).
public struct GroupNotification: Sendable, Equatable, Hashable {
    public typealias Kind = GroupChange.Kind

    public var kind: Kind
    public var scope: String
    public var group: String
    public var members: [GroupMemberID]

    public init(_ kind: Kind, scope: String, group: String, members: [GroupMemberID]) {
        self.kind = kind
        self.scope = scope
        self.group = group
        self.members = members
    }
}
