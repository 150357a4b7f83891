import ChorusCore
import ChorusWire

/// One group's members across the cluster, each counted once per join.
///
/// The distinct members are also kept in an array, so that a uniformly random one is picked in
/// constant time (emitter broadcast); removal swaps the last one into the gap.
struct GroupEntry: Sendable {
    private struct Slot: Sendable {
        var joins: Int
        var position: Int
    }

    private var slots: [GroupMemberID: Slot] = [:]
    private(set) var distinct: [GroupMemberID] = []

    var isEmpty: Bool { distinct.isEmpty }

    /// Joins of `member` (0 when it is not in the group).
    func joins(of member: GroupMemberID) -> Int { slots[member]?.joins ?? 0 }

    mutating func add(_ member: GroupMemberID, times: Int = 1) {
        if let slot = slots[member] {
            slots[member]!.joins = slot.joins + times
        } else {
            slots[member] = Slot(joins: times, position: distinct.count)
            distinct.append(member)
        }
    }

    /// Takes away up to `times` joins of `member`; returns how many it took.
    @discardableResult
    mutating func remove(_ member: GroupMemberID, times: Int = 1) -> Int {
        guard let slot = slots[member] else { return 0 }
        guard slot.joins <= times else {
            slots[member]!.joins = slot.joins - times
            return times
        }
        slots.removeValue(forKey: member)
        let last = distinct.removeLast()
        if last != member {
            distinct[slot.position] = last
            slots[last]!.position = slot.position
        }
        return slot.joins
    }

    /// Every member, sorted, each repeated once per join.
    var members: [GroupMemberID] {
        var result: [GroupMemberID] = []
        result.reserveCapacity(distinct.count)
        for member in distinct.sorted() {
            result.append(contentsOf: repeatElement(member, count: slots[member]!.joins))
        }
        return result
    }

    /// A member chosen uniformly among the distinct ones (a member joined twice is one member).
    func randomMember(using random: inout some RandomNumberGenerator) -> GroupMemberID? {
        distinct.isEmpty ? nil : distinct[Int(random.next(upperBound: UInt64(distinct.count)))]
    }
}

/// The groups of one scope across the cluster. A group exists while it has a member: the last
/// leave removes it (no phantom empty groups, OTP #11360).
struct ScopeIndex: Sendable {
    private(set) var groups: [String: GroupEntry] = [:]

    mutating func add(_ member: GroupMemberID, times: Int = 1, to group: String) {
        groups[group, default: GroupEntry()].add(member, times: times)
    }

    @discardableResult
    mutating func remove(_ member: GroupMemberID, times: Int = 1, from group: String) -> Int {
        guard var entry = groups.removeValue(forKey: group) else { return 0 }
        let taken = entry.remove(member, times: times)
        if !entry.isEmpty { groups[group] = entry }
        return taken
    }
}
