import ChorusReplication
import ChorusStores
import CoreMetrics

/// Tells when a store write has reached this node (seed: Fly Postgres' LSN tracker), which gives
/// read-your-writes anywhere: write on one node, await the LSN on another, then read there.
///
/// Trackers are named, and any number run side by side (as Fly's, one per repository): each keeps
/// its own count of requests, notifications and timeouts. All watch this node's replicated stores.
/// Waiting is event-driven: a pending request costs an entry, checked as writes are applied; with
/// none pending, applying a write checks nothing.
public struct LSNTracker: Sendable {
    let stores: NodeStores
    public let name: String
    /// This tracker's figures, made once with the tracker rather than looked up at each request.
    private let requests: Counter
    private let notifications: Counter
    private let timeouts: Counter

    init(stores: NodeStores, name: String) {
        self.stores = stores
        self.name = name
        requests = Counter(label: "chorus_lsn_requests_total", dimensions: [("tracker", name)])
        notifications = Counter(label: "chorus_lsn_notifications_total", dimensions: [("tracker", name)])
        timeouts = Counter(label: "chorus_lsn_timeouts_total", dimensions: [("tracker", name)])
    }
    /// How long `awaitNotification` waits by default, as the seed's 5 s.
    public static let defaultTimeout: Duration = .seconds(5)

    /// How waiting for an LSN ended.
    public enum Outcome: String, Sendable, Equatable {
        case ready
        case timeout
    }

    /// A request to be told when an LSN has reached this node.
    public struct Request: Sendable {
        let tracker: LSNTracker
        public let lsn: LSN

        /// Waits until the LSN has reached this node (`ready`, at once if it had when the request
        /// was made or since) or `timeout` has passed.
        public func awaitNotification(timeout: Duration = LSNTracker.defaultTimeout) async throws(StoreError) -> Outcome {
            try await tracker.wait(for: lsn, timeout: timeout)
        }
    }

    /// The latest write applied here of each origin, sorted (every write of that origin up to it is
    /// applied too): the seed's last replay, per writer.
    public func lastReplay() throws(StoreError) -> [LSN] {
        try stores.read { replica, _ in
            replica.state.context.versions.map { LSN(origin: $0.key, sequence: $0.value) }.sorted()
        }
    }

    /// Whether the write `lsn` has been applied on this node.
    public func replicated(_ lsn: LSN) throws(StoreError) -> Bool {
        try stores.shell(.cluster).isApplied(lsn)
    }

    /// Registers interest in `lsn`; `awaitNotification` on the result waits for it.
    public func requestNotification(_ lsn: LSN) throws(StoreError) -> Request {
        _ = try stores.shell(.cluster)
        requests.increment()
        return Request(tracker: self, lsn: lsn)
    }

    /// `requestNotification` then `awaitNotification`: ready at once when already replicated.
    public func requestAndAwaitNotification(_ lsn: LSN, timeout: Duration = LSNTracker.defaultTimeout)
        async throws(StoreError) -> Outcome {
        try await requestNotification(lsn).awaitNotification(timeout: timeout)
    }

    /// Calls `body` once the LSN has reached this node (`ready`) or `timeout` passed, on the thread
    /// that applied it: no task to schedule in between (for the stores benchmark, which times
    /// replication to the microsecond).
    package func whenReplicated(_ lsn: LSN, timeout: Duration = LSNTracker.defaultTimeout,
                                _ body: @escaping @Sendable (Outcome) -> Void) throws(StoreError) {
        let millis = UInt64(max(1, timeout.nanoseconds / 1_000_000))
        try stores.shell(.cluster).whenApplied(lsn, timeoutMillis: millis) { body($0 ? .ready : .timeout) }
    }

    func wait(for lsn: LSN, timeout: Duration) async throws(StoreError) -> Outcome {
        let shell = try stores.shell(.cluster)
        guard timeout > .zero else { return shell.isApplied(lsn) ? .ready : .timeout }
        let millis = UInt64(max(1, timeout.nanoseconds / 1_000_000))
        let outcome: Outcome = await shell.awaitApplied(lsn, timeoutMillis: millis) ? .ready : .timeout
        (outcome == .ready ? notifications : timeouts).increment()
        return outcome
    }
}
