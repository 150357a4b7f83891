import ChorusWire

/// What one node's members have joined: scope -> group -> member serial -> joins. A node keeps
/// one for its own members, and one per peer for what that peer told it.
struct NodeGroups: Sendable, Equatable {
    private(set) var scopes: [String: [String: [UInt64: Int]]] = [:]

    init() {}

    /// The state a sync describes (a serial listed n times has n joins).
    init(_ snapshot: [ScopeSnapshot]) {
        for scope in snapshot {
            for group in scope.groups {
                for serial in group.serials { add(serial, to: group.group, in: scope.scope) }
            }
        }
    }

    var isEmpty: Bool { scopes.isEmpty }

    func joins(of serial: UInt64, in group: String, of scope: String) -> Int {
        scopes[scope]?[group]?[serial] ?? 0
    }

    func groups(in scope: String) -> [String: [UInt64: Int]] { scopes[scope] ?? [:] }

    mutating func add(_ serial: UInt64, times: Int = 1, to group: String, in scope: String) {
        scopes[scope, default: [:]][group, default: [:]][serial, default: 0] += times
    }

    /// Takes away up to `times` joins; returns how many it took. Empty groups and scopes go.
    @discardableResult
    mutating func remove(_ serial: UInt64, times: Int = 1, from group: String, in scope: String) -> Int {
        guard let joins = scopes[scope]?[group]?[serial] else { return 0 }
        let taken = min(joins, times)
        if joins > taken {
            scopes[scope]![group]![serial] = joins - taken
        } else {
            scopes[scope]![group]!.removeValue(forKey: serial)
            if scopes[scope]![group]!.isEmpty {
                scopes[scope]!.removeValue(forKey: group)
                if scopes[scope]!.isEmpty { scopes.removeValue(forKey: scope) }
            }
        }
        return taken
    }

    /// The whole state as a sync carries it, sorted so that equal states encode equally.
    var snapshot: [ScopeSnapshot] {
        scopes.keys.sorted().map { scope in
            let groups = scopes[scope]!
            return ScopeSnapshot(scope: scope, groups: groups.keys.sorted().map { group in
                let members = groups[group]!
                var serials: [UInt64] = []
                for serial in members.keys.sorted() {
                    serials.append(contentsOf: repeatElement(serial, count: members[serial]!))
                }
                return GroupSnapshot(group: group, serials: serials)
            })
        }
    }
}
