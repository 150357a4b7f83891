import ChorusGroups
import Synchronization

/// The monitors of a node's groups: subscribers to a whole scope or to one group, each with a
/// stream of the join and leave notifications that concern it, or a handler called with them on
/// the data loop (Erlang pg's `monitor_scope` and `monitor`). Lives on the data loop with the
/// groups shell.
struct GroupMonitors {
    private struct GroupKey: Hashable {
        var scope: String
        var group: String
    }

    typealias Continuation = AsyncStream<GroupNotification>.Continuation

    /// Where a monitor's notifications go.
    enum Watcher {
        case stream(Continuation)
        case handler(@Sendable (GroupNotification) -> Void)

        func deliver(_ notification: GroupNotification) {
            switch self {
            case .stream(let continuation): continuation.yield(notification)
            case .handler(let handler): handler(notification)
            }
        }

        func finish() {
            if case .stream(let continuation) = self { continuation.finish() }
        }
    }

    private var nextID = 0
    private var byScope: [String: [Int: Watcher]] = [:]
    private var byGroup: [GroupKey: [Int: Watcher]] = [:]

    var isEmpty: Bool { byScope.isEmpty && byGroup.isEmpty }

    /// Adds a monitor of `scope`, or of one group of it; returns its id for `remove`.
    mutating func add(scope: String, group: String?, _ watcher: Watcher) -> Int {
        nextID += 1
        if let group {
            byGroup[GroupKey(scope: scope, group: group), default: [:]][nextID] = watcher
        } else {
            byScope[scope, default: [:]][nextID] = watcher
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
        for watcher in (byScope[notification.scope] ?? [:]).values { watcher.deliver(notification) }
        for watcher in (byGroup[GroupKey(scope: notification.scope, group: notification.group)] ?? [:]).values {
            watcher.deliver(notification)
        }
    }

    /// Ends every stream and drops every handler.
    mutating func finishAll() {
        for watcher in byScope.values.flatMap(\.values) + byGroup.values.flatMap(\.values) { watcher.finish() }
        byScope = [:]
        byGroup = [:]
    }
}

/// A monitor whose notifications go to a handler (see `ClusterNode.monitorScope(_:handler:)`).
/// It watches until `cancel()` is called, the last reference to it goes, or the node stops.
public final class GroupMonitor: Sendable {
    private let stop: @Sendable () -> Void
    private let cancelled = Atomic<Bool>(false)

    init(stop: @escaping @Sendable () -> Void) {
        self.stop = stop
    }

    /// Stops the monitor: no notification reaches the handler once the data loop has taken the
    /// cancellation. Idempotent.
    public func cancel() {
        if !cancelled.exchange(true, ordering: .acquiringAndReleasing) { stop() }
    }

    deinit { cancel() }
}
