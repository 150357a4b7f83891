import ChorusGroups
import ChorusLoop
import ChorusWire

/// Process groups across the cluster, with Erlang `pg`'s semantics (see `GroupsInstance` for the
/// rules): scopes, groups of members, joins and leaves of local members, reads, monitors.
///
/// ```swift
/// let worker = node.makeMember()
/// try await node.join(scope: "jobs", group: "resize", worker)
/// for await message in worker.messages { ... }
/// ```
/// A group as one node sees it at one moment: every member in the cluster and this node's own,
/// sorted, a member listed once per join.
public struct GroupView: Sendable, Equatable {
    public var members: [GroupMemberID]
    public var localMembers: [GroupMemberID]
}

/// A scope as one node sees it at one moment: its groups with a member anywhere, and those with a
/// member on this node, sorted.
public struct ScopeView: Sendable, Equatable {
    public var groups: [String]
    public var localGroups: [String]
}

extension ClusterNode {
    /// A new member of this node that receives its messages through its mailbox, `messages`.
    public func makeMember() -> GroupMember {
        groups.makeMember(handler: nil)
    }

    /// A new member of this node whose messages go to `handler`, called on the thread that
    /// delivers: the node's data loop for messages from other nodes, the sender's own thread for
    /// in-process ones (a broadcast calls it directly). Keep it short and thread-safe; hand heavy
    /// work to a task of your own.
    public func makeMember(handler: @escaping @Sendable (GroupMessage) -> Void) -> GroupMember {
        groups.makeMember(handler: handler)
    }

    /// Joins local members to a group of a scope, each once per time it is listed. Throws
    /// `GroupsError.notLocal` for another node's member, `.memberEnded` for one that ended,
    /// `.invalidScope`/`.invalidGroup` for names over the limits.
    ///
    /// It returns without waiting for the data loop (a join costs about a microsecond), and is
    /// in effect for what this node does next: reads, leaves, broadcasts and publishes that
    /// follow see it. Other nodes learn of it as soon as the loop sends it.
    public func join(scope: String, group: String, _ members: GroupMember...) async throws(GroupsError) {
        try groups.submitJoin(scope: scope, group: group, members: members)
    }

    /// Joins members by id (they must be live members of this node); waits for the data loop,
    /// which checks that they are.
    public func join(scope: String, group: String, members: [GroupMemberID]) async throws(GroupsError) {
        try await changeGroups { shell throws(GroupsError) in try shell.join(scope: scope, group: group, members: members) }
    }

    /// Takes members out of a group, one join each time a member is listed. Throws
    /// `GroupsError.notJoined` when none of them was in it.
    public func leave(scope: String, group: String, _ members: GroupMember...) async throws(GroupsError) {
        try await leave(scope: scope, group: group, members: members.map(\.id))
    }

    /// Takes members out of a group by id.
    public func leave(scope: String, group: String, members: [GroupMemberID]) async throws(GroupsError) {
        try await changeGroups { shell throws(GroupsError) in try shell.leave(scope: scope, group: group, members: members) }
    }

    /// Every member of the group in the cluster, as this node knows it, sorted, a member listed
    /// once per join.
    public func members(scope: String, group: String) async -> [GroupMemberID] {
        (try? await onGroups { $0.members(scope: scope, group: group) }) ?? []
    }

    /// This node's members of the group, sorted, a member listed once per join.
    public func localMembers(scope: String, group: String) async -> [GroupMemberID] {
        (try? await onGroups { $0.localMembers(scope: scope, group: group) }) ?? []
    }

    /// The groups of the scope with a member anywhere, sorted.
    public func whichGroups(scope: String) async -> [String] {
        (try? await onGroups { $0.whichGroups(scope: scope) }) ?? []
    }

    /// The groups of the scope with a member on this node, sorted.
    public func whichLocalGroups(scope: String) async -> [String] {
        (try? await onGroups { $0.whichLocalGroups(scope: scope) }) ?? []
    }

    /// Watches a scope: its groups and members now (group -> members), and every join and leave
    /// from then on, none missed in between. The stream ends when the node stops; cancel the task
    /// reading it to stop watching.
    public func monitorScope(_ scope: String) async -> (groups: [String: [GroupMemberID]], changes: AsyncStream<GroupNotification>) {
        await monitor(scope: scope, group: nil)
    }

    /// Watches one group: its members now, and every join and leave of it from then on.
    public func monitor(scope: String, group: String) async -> (members: [GroupMemberID], changes: AsyncStream<GroupNotification>) {
        let (current, changes) = await monitor(scope: scope, group: group as String?)
        return (current[group] ?? [], changes)
    }

    /// Watches a scope with a handler instead of a stream: its groups and members now, and every
    /// join and leave from then on, none missed in between, handed to `handler` on the node's data
    /// loop as they happen (no task to wake: keep it short and thread-safe). It watches until the
    /// returned monitor is cancelled or released, or the node stops.
    public func monitorScope(_ scope: String, handler: @escaping @Sendable (GroupNotification) -> Void) async
        -> (groups: [String: [GroupMemberID]], monitor: GroupMonitor) {
        await monitor(scope: scope, group: nil, handler: handler)
    }

    /// Watches one group with a handler (see `monitorScope(_:handler:)`).
    public func monitor(scope: String, group: String, handler: @escaping @Sendable (GroupNotification) -> Void) async
        -> (members: [GroupMemberID], monitor: GroupMonitor) {
        let (current, monitor) = await monitor(scope: scope, group: group as String?, handler: handler)
        return (current[group] ?? [], monitor)
    }

    private func monitor(scope: String, group: String?, handler: @escaping @Sendable (GroupNotification) -> Void) async
        -> ([String: [GroupMemberID]], GroupMonitor) {
        do {
            return try await onGroups { shell in
                let watch = shell.monitor(scope: scope, group: group, handler: handler)
                return (watch.current, watch.monitor)
            }
        } catch {
            return ([:], GroupMonitor {})
        }
    }

    private func monitor(scope: String, group: String?) async -> ([String: [GroupMemberID]], AsyncStream<GroupNotification>) {
        do {
            return try await onGroups { shell in
                let watch = shell.monitor(scope: scope, group: group)
                return (watch.current, watch.stream)
            }
        } catch {
            return ([:], AsyncStream { $0.finish() })
        }
    }

    /// Sends `payload` to a member, from `sender` (one of this node's members) or from the node.
    /// A local member gets it in-process; a remote one over the link to its node. Returns the
    /// path, or nil when the member is not known here (ended, or its node is not a peer).
    /// Throws `payloadTooLarge` past `GroupsLimits.maxPayload` bytes, `nodeStopped` after `stop()`.
    @discardableResult
    public func send(_ payload: [UInt8], to member: GroupMemberID, from sender: GroupMember? = nil) async throws(GroupsError) -> DeliveryPath? {
        guard payload.count <= GroupsLimits.maxPayload else { throw .payloadTooLarge(bytes: payload.count) }
        let from = sender?.id
        return try await onGroups { $0.send(payload, to: member, from: from) }
    }

    /// A group's members and this node's members of it, read together.
    public func groupView(scope: String, group: String) async -> GroupView {
        (try? await onGroups { $0.groupView(scope: scope, group: group) }) ?? GroupView(members: [], localMembers: [])
    }

    /// A scope's groups and this node's groups of it, read together.
    public func scopeView(scope: String) async -> ScopeView {
        (try? await onGroups { $0.scopeView(scope: scope) }) ?? ScopeView(groups: [], localGroups: [])
    }

    /// Runs a join or leave on the data loop; broadcasts and publishes that start after this
    /// returns see its effect (see `GroupsShell.beginChange`).
    private func changeGroups(_ body: @escaping @Sendable (GroupsShell) throws(GroupsError) -> Void) async throws(GroupsError) {
        groups.beginChange()
        try await onGroups { shell throws(GroupsError) in
            defer { shell.settleChange() }
            try body(shell)
        }
    }

    /// Runs `body` on the data loop with the groups shell; a stopped node throws `ESHUTDOWN`
    /// as a `LoopError`, which the callers above map to an empty answer.
    private func onGroups<T: Sendable>(_ body: @escaping @Sendable (GroupsShell) throws(GroupsError) -> T) async throws(GroupsError) -> T {
        let shell = groups
        let outcome: Result<T, GroupsError>
        do {
            outcome = try await shell.loop.submit { () -> Result<T, GroupsError> in
                do throws(GroupsError) { return .success(try body(shell)) } catch { return .failure(error) }
            }
        } catch {
            throw .nodeStopped
        }
        return try outcome.get()
    }
}
