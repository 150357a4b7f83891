import ChorusCore
import ChorusGroups
import ChorusMembership
import ChorusMembershipSimulation
import ChorusSimulation
import ChorusWire

/// A simulated cluster of nodes running membership and groups, and the questions pg's specs ask.
public final class SimulatedGroupsCluster {
    public let simulation: Simulation<SimulatedGroupsNode>
    public let swim: SWIMSettings
    public let groupsSettings: GroupsSettings

    /// `size` nodes joining through the first one, with the `local` profile's fast timers.
    public init(seed: UInt64, size: Int, swim: SWIMSettings = .local, groups: GroupsSettings = .local,
                link: LinkFaults = .none) {
        self.swim = swim
        self.groupsSettings = groups
        simulation = Simulation(seed: seed, defaultLink: link)
        for _ in 0..<size { add() }
        for address in simulation.addresses.dropFirst() { joinCluster(address, seeds: [simulation.addresses[0]]) }
    }

    @discardableResult
    public func add() -> SimAddress {
        let swim = self.swim, groups = self.groupsSettings
        return simulation.addNode { address, random in
            SimulatedGroupsNode(at: address, swim: swim, groups: groups, random: &random, now: .zero)
        }
    }

    /// Membership join through `seeds`.
    public func joinCluster(_ address: SimAddress, seeds: [SimAddress]) {
        simulation.call(address) { node, effects in
            let directives = node.member.instance.join(seeds: seeds.map(SimulatedMember.address), now: effects.now)
            node.member.perform(directives, &effects, wrap: SimulatedGroupsNode.Message.membership)
        }
    }

    /// The node restarts (a new uid, no members) and joins through `seeds`.
    public func restart(_ address: SimAddress, seeds: [SimAddress]) {
        let swim = self.swim, groups = self.groupsSettings, now = simulation.now
        simulation.restart(address) { address, random in
            SimulatedGroupsNode(at: address, swim: swim, groups: groups, random: &random, now: now)
        }
        joinCluster(address, seeds: seeds)
    }

    public func node(_ address: SimAddress) -> SimulatedGroupsNode { simulation.node(address)! }

    /// A new member id on the node at `address`.
    public func newMember(on address: SimAddress) -> GroupMemberID {
        simulation.withNode(address) { $0.newMember() }!
    }

    /// Runs a local groups operation on the node at `address` now; its messages leave at once.
    public func call(_ address: SimAddress,
                     _ body: @escaping (inout GroupsInstance) throws(GroupsError) -> [GroupsDirective]) throws(GroupsError) {
        var failure: GroupsError?
        simulation.call(address) { node, effects in
            do throws(GroupsError) { try node.call(&effects, body) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public func join(_ address: SimAddress, scope: String, group: String, _ members: [GroupMemberID]) throws(GroupsError) {
        try call(address) { (groups: inout GroupsInstance) throws(GroupsError) in try groups.join(scope: scope, group: group, members: members) }
    }

    public func leave(_ address: SimAddress, scope: String, group: String, _ members: [GroupMemberID]) throws(GroupsError) {
        try call(address) { (groups: inout GroupsInstance) throws(GroupsError) in try groups.leave(scope: scope, group: group, members: members) }
    }

    public func terminate(_ address: SimAddress, _ member: GroupMemberID) {
        try? call(address) { (groups: inout GroupsInstance) throws(GroupsError) in groups.terminate(member) }
    }

    /// Every live node's view of a scope: group -> members (sorted, with repeats).
    public func view(of address: SimAddress, scope: String) -> [String: [GroupMemberID]] {
        guard let node = simulation.node(address) else { return [:] }
        var view: [String: [GroupMemberID]] = [:]
        for group in node.groups.whichGroups(scope: scope) { view[group] = node.groups.members(scope: scope, group: group) }
        return view
    }

    /// Whether every listed live node (all by default) has the same view of the scope, equal to
    /// `expected` when given.
    public func allAgree(scope: String, among addresses: [SimAddress]? = nil, on expected: [String: [GroupMemberID]]? = nil) -> Bool {
        let live = (addresses ?? simulation.addresses).filter { simulation.node($0) != nil }
        guard let first = live.first else { return true }
        let reference = expected ?? view(of: first, scope: scope)
        return live.allSatisfy { view(of: $0, scope: scope) == reference }
    }

    /// Whether every listed node sees exactly these nodes (by address) alive in membership.
    public func membershipSettled(_ alive: [SimAddress], among addresses: [SimAddress]? = nil) -> Bool {
        let names = Set(alive.map { "n\($0.index)" })
        return (addresses ?? alive).allSatisfy { address in
            guard let node = simulation.node(address) else { return true }
            let instance = node.member.instance
            let active = Set(instance.members.values.filter(\.isActive).map(\.id.name)).union([instance.me.name])
            return active == names && instance.members.values.allSatisfy { $0.state.status != .suspect }
        }
    }

    /// Runs until `condition` holds, checking every `every` of virtual time, or `timeout` passes.
    @discardableResult
    public func run(until condition: () -> Bool, timeout: Duration, every: Duration = .milliseconds(20)) -> Bool {
        let deadline = simulation.now + timeout
        while !condition() {
            guard simulation.now < deadline else { return false }
            simulation.run(until: min(simulation.now + every, deadline))
        }
        return true
    }
}
