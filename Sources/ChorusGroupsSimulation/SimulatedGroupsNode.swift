import ChorusCore
import ChorusGroups
import ChorusMembership
import ChorusMembershipSimulation
import ChorusSimulation
import ChorusWire

/// A node as production runs it, minus the sockets: a SWIM member and the groups core, with
/// membership's events fed to groups as peers going up and down (what `ClusterNode` does).
/// Groups messages travel as stream messages (`.reliable`), as they do over TCP.
public struct SimulatedGroupsNode: SimulatedNode {
    public enum Message: Sendable {
        case membership(SimulatedMember.Message)
        /// A groups message, with the sender's uid (a link's hello gives it in production).
        case groups(GroupsMessage, from: NodeUID)
    }

    public var member: SimulatedMember
    public var groups: GroupsInstance
    /// Every notification the groups core gave, in order (what a scope monitor would see).
    public var notifications: [GroupNotification] = []
    /// Where each peer uid lives, from membership (groups directives name uids).
    private var addressOf: [NodeUID: SimAddress] = [:]
    private var eventsSeen = 0
    private var groupsWake: VirtualTime?
    private var nextSerial: UInt64 = 0

    public init(at address: SimAddress, swim: SWIMSettings, groups settings: GroupsSettings,
                random: inout SimulationRandom, now: VirtualTime) {
        member = SimulatedMember(at: address, settings: swim, random: &random, now: now)
        groups = GroupsInstance(node: member.instance.me.uid, settings: settings, now: now)
    }

    public var uid: NodeUID { member.instance.me.uid }

    /// A new member id of this node (the shell hands these out to endpoints).
    public mutating func newMember() -> GroupMemberID {
        nextSerial += 1
        return GroupMemberID(node: uid, serial: nextSerial)
    }

    public mutating func receive(_ message: Message, from sender: SimAddress, at now: VirtualTime, effects: inout Effects<Message>) {
        switch message {
        case .membership(let inner):
            member.receive(inner, from: sender, at: now, effects: &effects, wrap: Message.membership)
            feedMembershipEvents(now: now, &effects)
        case let .groups(inner, uid):
            // The sender must be who the link says (the simulated link knows its address).
            guard addressOf[uid] == sender else { return }
            perform(groups.receive(inner, from: uid, now: now), &effects)
        }
    }

    public mutating func wake(at now: VirtualTime, effects: inout Effects<Message>) {
        member.wake(at: now, effects: &effects, wrap: Message.membership)
        feedMembershipEvents(now: now, &effects)
        if let due = groupsWake, now >= due { groupsWake = nil }
        perform(groups.tick(now: now), &effects)
    }

    public mutating func undeliverable(_ message: Message, to peer: SimAddress, reason: DeliveryFailure, at now: VirtualTime,
                                       effects: inout Effects<Message>) {
        // A lost groups message is found by numbering and digests; membership wants to know.
        member.undeliverable(to: peer, reason: reason, at: now, effects: &effects, wrap: Message.membership)
        feedMembershipEvents(now: now, &effects)
    }

    /// Runs a local groups operation and carries out its directives.
    public mutating func call(_ effects: inout Effects<Message>,
                              _ body: (inout GroupsInstance) throws(GroupsError) -> [GroupsDirective]) throws(GroupsError) {
        perform(try body(&groups), &effects)
    }

    private mutating func feedMembershipEvents(now: VirtualTime, _ effects: inout Effects<Message>) {
        while eventsSeen < member.events.count {
            let event = member.events[eventsSeen]
            eventsSeen += 1
            switch event {
            case .joined(let m), .alive(let m), .updated(let m):
                if let address = SimulatedMember.simAddress(m.address) { addressOf[m.id.uid] = address }
            case .dead, .left, .suspect:
                break
            }
            perform(groups.membershipChanged(event, now: now), &effects)
        }
    }

    private mutating func perform(_ directives: [GroupsDirective], _ effects: inout Effects<Message>) {
        for directive in directives {
            switch directive {
            case let .send(message, peers):
                for peer in peers {
                    if let address = addressOf[peer] { effects.send(.groups(message, from: uid), to: address, transport: .reliable) }
                }
            case .notify(let notification):
                notifications.append(notification)
            }
        }
        let deadline = groups.nextDeadline
        if groupsWake.map({ deadline < $0 }) ?? true {
            groupsWake = deadline
            effects.wake(at: deadline)
        }
    }
}
