/// What the process groups of a node did since it started, as this node saw it: joins and leaves
/// of its own members (`local`) and of other nodes' members it learnt of (`remote`: by their
/// deltas and syncs, and the leaves of a node that died or left). Counted on the data loop, read
/// at scrape time (`ClusterNode.figures()`). A member is counted once per join, in every group of
/// every scope.
public struct GroupFigures: Sendable, Equatable {
    public var localJoins: UInt64 = 0
    public var localLeaves: UInt64 = 0
    public var remoteJoins: UInt64 = 0
    public var remoteLeaves: UInt64 = 0

    public init() {}

    /// The joins held now by this node's members, and by other nodes' members.
    public var localMembers: UInt64 { localJoins &- localLeaves }
    public var remoteMembers: UInt64 { remoteJoins &- remoteLeaves }

    /// Counts a change monitors are told of.
    mutating func count(_ notification: GroupNotification, localNode: NodeUID) {
        for member in notification.members {
            switch (notification.kind, member.node == localNode) {
            case (.join, true): localJoins += 1
            case (.join, false): remoteJoins += 1
            case (.leave, true): localLeaves += 1
            case (.leave, false): remoteLeaves += 1
            }
        }
    }
}
