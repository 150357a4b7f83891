import ChorusCore
import ChorusMembership
import ChorusWire

/// Process groups across nodes with Erlang `pg`'s semantics, as a pure state machine.
///
/// No I/O, no clock: the shell (or the simulator) calls the local operations, `receive`,
/// `peerUp`/`peerDown` (or `membershipChanged`) and `tick` with the current time, and carries out
/// the returned directives; it calls `tick` again at `nextDeadline`.
///
/// Rules:
/// - **Scopes** are independent: the same group name in two scopes names two groups. A scope
///   exists on a node as soon as a member joins in it here or a peer speaks of it.
/// - **Sole authority**: a node changes only its own members (`join`/`leave` of another node's
///   member is `notLocal`), and tells its peers of each change in a numbered delta. A member may
///   join a group several times and must leave as many times; `leave` of members none of which
///   is in the group is `notJoined`; a member that `terminate`s leaves every group.
/// - **Peers** are the nodes membership reports alive. A message from any other node is ignored
///   (pg's `overlay_missing`). A peer that goes down or leaves takes all its members with it.
/// - **Sync**: a new peer, a peer whose link came back, and a peer whose numbering shows a gap
///   (or whose digest is ahead) is asked for its whole state (`discover`); its answer (`sync`)
///   replaces everything known of it. Digests every `digestInterval` catch a lost last delta.
/// - **Empty groups do not exist**: a group goes with its last member.
public struct GroupsInstance: Sendable {
    /// This node's uid: local members carry it.
    public let node: NodeUID
    public let settings: GroupsSettings
    /// The number of this node's latest change.
    public private(set) var sequence: UInt64 = 0

    private var local = NodeGroups()
    /// Where each local member is joined, for `terminate`.
    private var placesOf: [UInt64: Set<Place>] = [:]
    private var peers: [NodeUID: PeerView] = [:]
    private var index: [String: ScopeIndex] = [:]
    private var pendingChanges: [GroupChange] = []
    private var outbox: [GroupsDirective] = []
    private var nextDigestAt: ProtocolTime

    private struct Place: Hashable, Sendable {
        var scope: String
        var group: String
    }

    public init(node: NodeUID, settings: GroupsSettings = .lan, now: ProtocolTime) {
        self.node = node
        self.settings = settings
        nextDigestAt = now + settings.digestInterval
    }

    // MARK: Reading

    /// Every member of the group in the cluster, sorted, a member listed once per join.
    public func members(scope: String, group: String) -> [GroupMemberID] {
        index[scope]?.groups[group]?.members ?? []
    }

    /// This node's members of the group, sorted, a member listed once per join.
    public func localMembers(scope: String, group: String) -> [GroupMemberID] {
        let joins = local.groups(in: scope)[group] ?? [:]
        var result: [GroupMemberID] = []
        for serial in joins.keys.sorted() {
            result.append(contentsOf: repeatElement(GroupMemberID(node: node, serial: serial), count: joins[serial]!))
        }
        return result
    }

    /// The groups of the scope that have a member anywhere, sorted.
    public func whichGroups(scope: String) -> [String] {
        index[scope]?.groups.keys.sorted() ?? []
    }

    /// The groups of the scope that have a member on this node, sorted.
    public func whichLocalGroups(scope: String) -> [String] {
        local.groups(in: scope).keys.sorted()
    }

    /// Scopes with a group anywhere, sorted.
    public var scopes: [String] { index.keys.sorted() }

    /// A member of the group chosen uniformly at random among the distinct members of the
    /// cluster, or nil when the group is empty.
    public func randomMember(scope: String, group: String, using random: inout some RandomNumberGenerator) -> GroupMemberID? {
        index[scope]?.groups[group]?.randomMember(using: &random)
    }

    /// The distinct members of the group, in no particular order (for a snapshot to pick from).
    public func distinctMembers(scope: String, group: String) -> [GroupMemberID] {
        index[scope]?.groups[group]?.distinct ?? []
    }

    /// Whether `node` is a peer: membership reports it alive, so its messages are heard.
    public func isPeer(_ node: NodeUID) -> Bool { peers[node] != nil }

    /// Whether this node holds a full view of `peer` (it answered a sync request).
    public func isSynced(with peer: NodeUID) -> Bool { peers[peer]?.sequence != nil }

    /// The earliest time `tick` has work to do.
    public var nextDeadline: ProtocolTime {
        var deadline = nextDigestAt
        for view in peers.values {
            if let asked = view.syncRequestedAt { deadline = min(deadline, asked + settings.syncRetryInterval) }
        }
        return deadline
    }

    // MARK: Local operations

    /// Joins local members to a group, each once per time it is listed.
    public mutating func join(scope: String, group: String, members: [GroupMemberID]) throws(GroupsError) -> [GroupsDirective] {
        try Self.validate(scope: scope, group: group)
        if let stranger = members.first(where: { $0.node != node }) { throw .notLocal(stranger) }
        guard !members.isEmpty else { return [] }
        for member in members {
            local.add(member.serial, to: group, in: scope)
            placesOf[member.serial, default: []].insert(Place(scope: scope, group: group))
            index[scope, default: ScopeIndex()].add(member, to: group)
        }
        record(GroupChange(.join, scope: scope, group: group, serials: members.map(\.serial)))
        outbox.append(.notify(GroupNotification(.join, scope: scope, group: group, members: members)))
        return drain()
    }

    /// Takes local members out of a group, one join each time a member is listed. Members that
    /// are not in the group are passed over; if none of them is, the answer is `notJoined`.
    public mutating func leave(scope: String, group: String, members: [GroupMemberID]) throws(GroupsError) -> [GroupsDirective] {
        try Self.validate(scope: scope, group: group)
        if let stranger = members.first(where: { $0.node != node }) { throw .notLocal(stranger) }
        var left: [GroupMemberID] = []
        for member in members where local.remove(member.serial, from: group, in: scope) == 1 {
            left.append(member)
            index[scope]?.remove(member, from: group)
            if local.joins(of: member.serial, in: group, of: scope) == 0 {
                placesOf[member.serial]?.remove(Place(scope: scope, group: group))
                if placesOf[member.serial]?.isEmpty == true { placesOf.removeValue(forKey: member.serial) }
            }
        }
        guard !left.isEmpty else { throw .notJoined }
        dropEmptyScope(scope)
        record(GroupChange(.leave, scope: scope, group: group, serials: left.map(\.serial)))
        outbox.append(.notify(GroupNotification(.leave, scope: scope, group: group, members: left)))
        return drain()
    }

    /// A local member ended: it leaves every group it is in, every join of it. A member that is
    /// in no group (or another node's) changes nothing.
    public mutating func terminate(_ member: GroupMemberID) -> [GroupsDirective] {
        guard member.node == node, let places = placesOf.removeValue(forKey: member.serial) else { return [] }
        for place in places.sorted(by: { ($0.scope, $0.group) < ($1.scope, $1.group) }) {
            let joins = local.joins(of: member.serial, in: place.group, of: place.scope)
            local.remove(member.serial, times: joins, from: place.group, in: place.scope)
            index[place.scope]?.remove(member, times: joins, from: place.group)
            dropEmptyScope(place.scope)
            let serials = Array(repeating: member.serial, count: joins)
            record(GroupChange(.leave, scope: place.scope, group: place.group, serials: serials))
            outbox.append(.notify(GroupNotification(.leave, scope: place.scope, group: place.group,
                                                    members: Array(repeating: member, count: joins))))
        }
        return drain()
    }

    /// Checks a scope's and a group's names against the limits (`invalidScope`, `invalidGroup`).
    public static func validate(scope: String, group: String) throws(GroupsError) {
        try validate(scope: scope)
        guard (1...GroupsLimits.maxGroupName).contains(group.utf8.count) else { throw .invalidGroup(group) }
    }

    /// Checks a scope's name against the limit (`invalidScope`).
    public static func validate(scope: String) throws(GroupsError) {
        guard (1...GroupsLimits.maxScopeName).contains(scope.utf8.count) else { throw .invalidScope(scope) }
    }

    // MARK: Peers

    /// A node membership reports alive. A new peer is asked for its state; so is a known one
    /// (the shell calls this again when a link to it came back: deltas may have been lost).
    public mutating func peerUp(_ peer: NodeUID, now: ProtocolTime) -> [GroupsDirective] {
        guard peer != node else { return [] }
        if peers[peer] == nil { peers[peer] = PeerView() }
        requestSync(from: peer, now: now, force: true)
        return drain()
    }

    /// A node membership reports dead or left: all its members leave.
    public mutating func peerDown(_ peer: NodeUID) -> [GroupsDirective] {
        guard let view = peers.removeValue(forKey: peer) else { return [] }
        replace(view.groups, with: NodeGroups(), of: peer)
        return drain()
    }

    /// Membership's news, as peers going up and down: a member joining or coming back alive is up,
    /// one dead or gone is down (a suspect is still up: its members stay until it is declared dead).
    public mutating func membershipChanged(_ event: MembershipEvent, now: ProtocolTime) -> [GroupsDirective] {
        switch event {
        case .joined(let member), .alive(let member):
            return member.isActive ? peerUp(member.id.uid, now: now) : []
        case .dead(let member), .left(let member):
            return peerDown(member.id.uid)
        case .suspect, .updated:
            return []
        }
    }

    // MARK: Messages

    /// A groups message from the node `peer`. Ignored unless `peer` is a peer.
    public mutating func receive(_ message: GroupsMessage, from peer: NodeUID, now: ProtocolTime) -> [GroupsDirective] {
        guard peers[peer] != nil else { return [] }
        switch message {
        case .discover:
            outbox.append(.send(.sync(GroupsSync(sequence: sequence, scopes: local.snapshot)), to: [peer]))
            // It may have asked before it knew us, and our own request may have been ignored then.
            if peers[peer]!.sequence == nil { requestSync(from: peer, now: now, force: true) }
        case .sync(let sync):
            let view = peers[peer]!
            replace(view.groups, with: NodeGroups(sync.scopes), of: peer)
            peers[peer] = PeerView(sequence: sync.sequence, groups: NodeGroups(sync.scopes))
        case .delta(let delta):
            apply(delta, from: peer, now: now)
        case .digest(let digest):
            if peers[peer]!.sequence != digest.sequence { requestSync(from: peer, now: now, force: false) }
        }
        return drain()
    }

    /// Periodic work: digests to peers, and sync requests that went unanswered.
    public mutating func tick(now: ProtocolTime) -> [GroupsDirective] {
        for peer in peers.keys.sorted() {
            if let asked = peers[peer]!.syncRequestedAt, now >= asked + settings.syncRetryInterval {
                requestSync(from: peer, now: now, force: true)
            }
        }
        if now >= nextDigestAt {
            nextDigestAt = now + settings.digestInterval
            if !peers.isEmpty { outbox.append(.send(.digest(GroupsDigest(sequence: sequence)), to: peers.keys.sorted())) }
        }
        return drain()
    }

    // MARK: Applying a peer's news

    private mutating func apply(_ delta: GroupsDelta, from peer: NodeUID, now: ProtocolTime) {
        guard let known = peers[peer]!.sequence else {
            requestSync(from: peer, now: now, force: false)
            return
        }
        guard delta.lastSequence > known else { return } // already applied
        guard delta.firstSequence <= known + 1 else {
            requestSync(from: peer, now: now, force: false) // a gap: changes were lost
            return
        }
        var view = peers.removeValue(forKey: peer)!
        defer { peers[peer] = view }
        for change in delta.changes.dropFirst(Int(known + 1 - delta.firstSequence)) {
            view.sequence! += 1
            var changed: [GroupMemberID] = []
            var consistent = true
            for serial in change.serials {
                let member = GroupMemberID(node: peer, serial: serial)
                switch change.kind {
                case .join:
                    view.groups.add(serial, to: change.group, in: change.scope)
                    index[change.scope, default: ScopeIndex()].add(member, to: change.group)
                    changed.append(member)
                case .leave:
                    if view.groups.remove(serial, from: change.group, in: change.scope) == 1 {
                        index[change.scope]?.remove(member, from: change.group)
                        changed.append(member)
                    } else {
                        consistent = false // it left a group we did not know it in
                    }
                }
            }
            dropEmptyScope(change.scope)
            if !changed.isEmpty {
                outbox.append(.notify(GroupNotification(change.kind, scope: change.scope, group: change.group, members: changed)))
            }
            if !consistent {
                view.sequence = nil
                view.syncRequestedAt = now
                outbox.append(.send(.discover, to: [peer]))
                return
            }
        }
    }

    /// Replaces what is known of `peer` (`old`) with `new`, telling monitors what changed.
    private mutating func replace(_ old: NodeGroups, with new: NodeGroups, of peer: NodeUID) {
        for scope in Set(old.scopes.keys).union(new.scopes.keys).sorted() {
            let before = old.groups(in: scope), after = new.groups(in: scope)
            for group in Set(before.keys).union(after.keys).sorted() {
                let was = before[group] ?? [:], now = after[group] ?? [:]
                var joined: [GroupMemberID] = [], left: [GroupMemberID] = []
                for serial in Set(was.keys).union(now.keys).sorted() {
                    let member = GroupMemberID(node: peer, serial: serial)
                    let delta = (now[serial] ?? 0) - (was[serial] ?? 0)
                    if delta > 0 {
                        index[scope, default: ScopeIndex()].add(member, times: delta, to: group)
                        joined.append(contentsOf: repeatElement(member, count: delta))
                    } else if delta < 0 {
                        index[scope]?.remove(member, times: -delta, from: group)
                        left.append(contentsOf: repeatElement(member, count: -delta))
                    }
                }
                if !left.isEmpty { outbox.append(.notify(GroupNotification(.leave, scope: scope, group: group, members: left))) }
                if !joined.isEmpty { outbox.append(.notify(GroupNotification(.join, scope: scope, group: group, members: joined))) }
            }
            dropEmptyScope(scope)
        }
    }

    // MARK: Plumbing

    /// Asks `peer` for its whole state, unless a request is already out and not yet due for a
    /// retry (`force` asks regardless).
    private mutating func requestSync(from peer: NodeUID, now: ProtocolTime, force: Bool) {
        if !force, let asked = peers[peer]?.syncRequestedAt, now < asked + settings.syncRetryInterval { return }
        peers[peer]?.syncRequestedAt = now
        outbox.append(.send(.discover, to: [peer]))
    }

    private mutating func record(_ change: GroupChange) {
        sequence += 1
        pendingChanges.append(change)
    }

    private mutating func dropEmptyScope(_ scope: String) {
        if index[scope]?.groups.isEmpty == true { index.removeValue(forKey: scope) }
    }

    /// The directives gathered while handling one input; this input's changes go to every peer
    /// in one delta, ahead of anything else.
    private mutating func drain() -> [GroupsDirective] {
        if !pendingChanges.isEmpty {
            let first = sequence - UInt64(pendingChanges.count) + 1
            if !peers.isEmpty {
                outbox.insert(.send(.delta(GroupsDelta(firstSequence: first, changes: pendingChanges)), to: peers.keys.sorted()), at: 0)
            }
            pendingChanges.removeAll(keepingCapacity: true)
        }
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }
}

/// What one peer has told this node.
struct PeerView: Sendable {
    /// The number of the peer's last change applied here; nil until its first sync arrives.
    var sequence: UInt64?
    var groups = NodeGroups()
    /// When a sync was last asked of it and not yet answered.
    var syncRequestedAt: ProtocolTime?

    init(sequence: UInt64? = nil, groups: NodeGroups = NodeGroups()) {
        self.sequence = sequence
        self.groups = groups
    }
}
