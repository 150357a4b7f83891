import ChorusCore

/// The members one node knows (itself excluded), kept so that the questions the protocol asks on
/// every input are cheap at thousands of members:
/// - lookup by name;
/// - how many are active (alive or suspect), counted as they change, not by a scan;
/// - a name-ordered list of everyone, so random choices start from the same sequence in every
///   process (dictionaries iterate in a per-process order) and need no sort.
struct MemberTable: Sendable {
    private(set) var byName: [String: Member] = [:]
    /// Every known name, sorted.
    private(set) var names: [String] = []
    private(set) var activeCount = 0

    var count: Int { names.count }

    subscript(name: String) -> Member? { byName[name] }

    /// Adds or replaces the entry for `member.id.name`.
    mutating func store(_ member: Member) {
        let name = member.id.name
        if let previous = byName.updateValue(member, forKey: name) {
            activeCount += (member.isActive ? 1 : 0) - (previous.isActive ? 1 : 0)
        } else {
            names.insert(name, at: insertionIndex(of: name))
            activeCount += member.isActive ? 1 : 0
        }
    }

    /// Forgets `name` entirely (a tombstone that expired).
    mutating func remove(_ name: String) {
        guard let previous = byName.removeValue(forKey: name) else { return }
        activeCount -= previous.isActive ? 1 : 0
        let index = insertionIndex(of: name)
        if index < names.count, names[index] == name { names.remove(at: index) }
    }

    /// Every member in name order.
    var sorted: [Member] { names.map { byName[$0]! } }

    /// Up to `count` distinct members matching `predicate`, in random order.
    ///
    /// Draws random positions first (cheap when most members match, the common case); when that
    /// does not find enough, it falls back to filtering everyone. Both paths draw only from
    /// `random`, so a run replays from its seed.
    func sample(_ count: Int, using random: inout ProtocolRandom, where predicate: (Member) -> Bool) -> [Member] {
        guard count > 0, !names.isEmpty else { return [] }
        if names.count > count * 4 {
            var chosen: [Member] = []
            chosen.reserveCapacity(count)
            var drawn: Set<Int> = []
            for _ in 0 ..< count * 3 + 8 {
                let index = Int(random.next() % UInt64(names.count))
                guard drawn.insert(index).inserted, let member = byName[names[index]], predicate(member) else { continue }
                chosen.append(member)
                if chosen.count == count { return chosen }
            }
        }
        var matching = names.compactMap { name in byName[name].flatMap { predicate($0) ? $0 : nil } }
        // A partial Fisher-Yates shuffle: the first `count` places are a uniform random sample.
        let taken = min(count, matching.count)
        for place in 0 ..< taken {
            let pick = place + Int(random.next() % UInt64(matching.count - place))
            matching.swapAt(place, pick)
        }
        return Array(matching.prefix(taken))
    }

    /// A random member matching `predicate`, if any.
    func randomElement(using random: inout ProtocolRandom, where predicate: (Member) -> Bool) -> Member? {
        sample(1, using: &random, where: predicate).first
    }

    private func insertionIndex(of name: String) -> Int {
        var low = 0, high = names.count
        while low < high {
            let middle = (low + high) / 2
            if names[middle] < name { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
