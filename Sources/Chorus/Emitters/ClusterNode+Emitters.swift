import ChorusGroups
import ChorusLoop
import ChorusWire
#if canImport(Glibc)
import Glibc
#endif

/// reckon_db's emitter groups, cluster-wide: the emitters of a `(store, subscription)` are a
/// group in the `emitters` scope; a broadcast hands an event to one of them chosen uniformly at
/// random in the cluster, in-process when it is local, over its node's link when it is remote.
///
/// ```swift
/// let emitter = node.makeMember()
/// try await node.joinEmitters(store: "orders", subscription: "billing", emitter)
/// let receipt = try node.broadcast(store: "orders", subscription: "billing", event: event)
/// ```
extension ClusterNode {
    /// Joins members to the emitter group of a subscription.
    public func joinEmitters(store: String, subscription: String, _ members: GroupMember...) async throws(GroupsError) {
        try groups.submitJoin(scope: EmitterNames.scope, group: EmitterNames.group(store: store, subscription: subscription),
                              members: members)
    }

    /// Takes members out of the emitter group of a subscription.
    public func leaveEmitters(store: String, subscription: String, _ members: GroupMember...) async throws(GroupsError) {
        try await leave(scope: EmitterNames.scope, group: EmitterNames.group(store: store, subscription: subscription),
                        members: members.map(\.id))
    }

    /// The members of the emitter group in the cluster, sorted, a member listed once per join.
    public func emitters(store: String, subscription: String) async -> [GroupMemberID] {
        await members(scope: EmitterNames.scope, group: EmitterNames.group(store: store, subscription: subscription))
    }

    /// Hands `event` to one emitter of the subscription, chosen uniformly at random among the
    /// group's distinct members in the cluster. A local one gets it at once, on this thread, with
    /// no encoding and no copy of its payload; a remote one gets it over its node's link, batched
    /// with other frames; while the links to other nodes cannot keep up, the call waits for room
    /// (as Erlang suspends a sender on a busy distribution port). Fire and forget, as reckon_db:
    /// if the chosen member's node fails, the
    /// event is lost (see `broadcastAcknowledged`). Throws `noEmitters` when the group is empty,
    /// `invalidEvent` for an event beyond the wire's limits, `nodeStopped` after `stop()`.
    @discardableResult
    public func broadcast(store: String, subscription: String, event: EmitterEvent) throws(EmitterError) -> BroadcastReceipt {
        let directory = groups.directory
        groups.awaitSubmittedChanges()
        let snapshot = directory.snapshot
        if snapshot.stopped { throw .nodeStopped }
        do { try event.checkLimits() } catch { throw .invalidEvent(error.description) }
        guard let route = snapshot.emitters.route(store: store, subscription: subscription), !route.members.isEmpty else {
            groups.unroutedBroadcasts.wrappingAdd(1, ordering: .relaxed)
            throw .noEmitters
        }
        let index = directory.randomIndex(below: route.members.count)
        let member = route.members[index]
        if member.node == uid {
            route.endpoints[index]?.deliver(GroupMessage(from: nil, fromNode: uid, content: .event(event), path: .local))
            groups.localBroadcasts.wrappingAdd(1, ordering: .relaxed)
            return BroadcastReceipt(member: member, path: .local)
        }
        // Flow control, as Erlang suspends a sender on a busy distribution port: while the links
        // cannot keep up, a broadcaster off the loop waits for room instead of piling events up.
        let shell = groups
        if !shell.loop.inLoop {
            while shell.outboundBacklog.load(ordering: .relaxed) > GroupsShell.maxOutboundBacklog {
                if shell.directory.snapshot.stopped { throw .nodeStopped }
                usleep(50)
            }
        }
        guard shell.enqueue(GroupsShell.OutboundEvent(member: member, event: event)) else { throw .nodeStopped }
        return BroadcastReceipt(member: member, path: .remote)
    }

    /// Hands `event` to one emitter of the subscription and returns once a member has accepted it
    /// (at-least-once): a remote member's node must ack within `attemptTimeout`, else, or when
    /// that node fails, the event goes to another member, until `timeout`. Receivers drop an
    /// event id they already took (see `EmitterBroadcasts`), so a retry after a lost ack
    /// delivers once. Throws `noEmitters` for an empty group, `notAcknowledged` after `timeout`.
    @discardableResult
    public func broadcastAcknowledged(store: String, subscription: String, event: EmitterEvent,
                                      timeout: Duration = .seconds(5),
                                      attemptTimeout: Duration = .seconds(1)) async throws(EmitterError) -> BroadcastReceipt {
        do { try event.checkLimits() } catch { throw .invalidEvent(error.description) }
        let shell = groups
        let group = EmitterNames.group(store: store, subscription: subscription)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<BroadcastReceipt, EmitterError>, Never>) in
            let accepted = shell.loop.execute {
                shell.broadcasts.start(event: event, group: group, timeout: timeout, attemptTimeout: attemptTimeout) {
                    continuation.resume(returning: $0)
                }
            }
            if !accepted { continuation.resume(returning: .failure(.nodeStopped)) }
        }
        return try result.get()
    }

    /// Records the names of a pool of emitters for the subscription (reckon_db keeps them in
    /// `persistent_term`) and returns them: `<store>_<sub>_emitter`, then `_emitter_2` to `_emitter_<poolSize>`.
    @discardableResult
    public func persistEmitters(store: String, subscription: String, poolSize: Int) -> [String] {
        emitterRegistry.persistEmitters(store: store, subscription: subscription, poolSize: poolSize)
    }

    /// The emitter names persisted for the subscription, or `[]`; a read takes no lock.
    public func retrieveEmitters(store: String, subscription: String) -> [String] {
        emitterRegistry.retrieveEmitters(store: store, subscription: subscription)
    }
}
