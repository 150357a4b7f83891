import ChorusGroups
import ChorusWire

/// Where topic subscriptions live.
public enum TopicNames {
    /// The scope whose groups are topics and whose members are subscribers.
    public static let scope = "topics"
}

/// Topic pub/sub in Phoenix.PubSub's shape: `subscribe` a member to a topic, `publish` reaches
/// every subscriber in the cluster, with one message per other node that has subscribers, and
/// each subscriber sees one publisher's messages in the order they were published.
///
/// Rules: a subscriber is a member of the topic's group in the `topics` scope, so it follows
/// pg's rules (subscribing twice needs two unsubscribes; it is unsubscribed when it ends; a node
/// that fails takes its subscribers with it). A member subscribed several times gets a message
/// once. Order holds per publisher and subscriber because a publisher's messages to one node
/// travel one link, in order, and each node hands them out in arrival order; there is no order
/// between publishers. Delivery is at most once: a node that fails loses what it had not handed out.
extension ClusterNode {
    /// A new member with a mailbox, subscribed to `topic`.
    public func subscribe(_ topic: String) async throws(GroupsError) -> GroupMember {
        let member = makeMember()
        try await subscribe(topic, member)
        return member
    }

    /// Subscribes members to `topic`.
    public func subscribe(_ topic: String, _ members: GroupMember...) async throws(GroupsError) {
        try groups.submitJoin(scope: TopicNames.scope, group: topic, members: members)
    }

    /// Unsubscribes members from `topic` (once each). Throws `notJoined` if none was subscribed.
    public func unsubscribe(_ topic: String, _ members: GroupMember...) async throws(GroupsError) {
        try await leave(scope: TopicNames.scope, group: topic, members: members.map(\.id))
    }

    /// The subscribers of `topic` in the cluster, sorted, one entry per subscription.
    public func subscribers(_ topic: String) async -> [GroupMemberID] {
        await members(scope: TopicNames.scope, group: topic)
    }

    /// Publishes `payload` on `topic`, from `sender` (a member of this node) or from the node:
    /// this node's subscribers get it at once, on this thread, with no copy of the payload; each
    /// other node with subscribers gets one message. Returns how many nodes it went to, this one
    /// included when it has subscribers. Throws `payloadTooLarge` past `GroupsLimits.maxPayload`
    /// bytes, `nodeStopped` once the node has stopped.
    @discardableResult
    public func publish(_ topic: String, _ payload: [UInt8], from sender: GroupMember? = nil) throws(GroupsError) -> Int {
        groups.awaitSubmittedChanges()
        let snapshot = groups.directory.snapshot
        if snapshot.stopped { throw .nodeStopped }
        guard payload.count <= GroupsLimits.maxPayload else { throw .payloadTooLarge(bytes: payload.count) }
        guard let route = snapshot.topics[topic] else { return 0 }
        let from = sender?.id
        for (_, endpoint) in route.local {
            endpoint.deliver(GroupMessage(from: from, fromNode: uid, content: .published(topic: topic, payload: payload), path: .local))
        }
        if !route.remoteNodes.isEmpty {
            let shell = groups, nodes = route.remoteNodes
            let message = TopicMessage(topic: topic, from: from, payload: payload)
            guard shell.loop.execute({ shell.sendPublished(message, to: nodes) }) else { throw .nodeStopped }
        }
        return route.remoteNodes.count + (route.local.isEmpty ? 0 : 1)
    }
}
