import ChorusGroups

/// The monitors of a node's groups: subscribers to a whole scope or to one group, each with a
/// stream of the join and leave notifications that concern it (Erlang pg's `monitor_scope` and
/// `monitor`). Lives on the data loop with the groups shell.
struct GroupMonitors {
    private struct GroupKey: Hashable {
        var scope: String
        var group: String
    }

    typealias Continuation = AsyncStream<GroupNotification>.Continuation

    private var nextID = 0
    private var byScope: [String: [Int: Continuation]] = [:]
    private var byGroup: [GroupKey: [Int: Continuation]] = [:]

    var isEmpty: Bool { byScope.isEmpty && byGroup.isEmpty }

    /// Adds a monitor of `scope`, or of one group of it; returns its id for `remove`.
    mutating func add(scope: String, group: String?, _ continuation: Continuation) -> Int {
        nextID += 1
        if let group {
            byGroup[GroupKey(scope: scope, group: group), default: [:]][nextID] = continuation
        } else {
            byScope[scope, default: [:]][nextID] = continuation
        }
        return nextID
    }

    mutating func remove(_ id: Int, scope: String, group: String?) {
        if let group {
            let key = GroupKey(scope: scope, group: group)
            byGroup[key]?.removeValue(forKey: id)
            if byGroup[key]?.isEmpty == true { byGroup.removeValue(forKey: key) }
        } else {
            byScope[scope]?.removeValue(forKey: id)
            if byScope[scope]?.isEmpty == true { byScope.removeValue(forKey: scope) }
        }
    }

    func notify(_ notification: GroupNotification) {
        for continuation in (byScope[notification.scope] ?? [:]).values { continuation.yield(notification) }
        for continuation in (byGroup[GroupKey(scope: notification.scope, group: notification.group)] ?? [:]).values {
            continuation.yield(notification)
        }
    }

    /// Ends every stream.
    mutating func finishAll() {
        for continuation in byScope.values.flatMap(\.values) + byGroup.values.flatMap(\.values) { continuation.finish() }
        byScope = [:]
        byGroup = [:]
    }
}
