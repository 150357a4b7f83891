import ChorusLoop
import ChorusMembership

/// Hands membership events to any number of subscribers. Each subscriber gets the events that
/// happen after it subscribed, through its own bounded buffer (the newest are kept when a
/// subscriber falls behind), so a slow reader never holds up the failure detector.
///
/// Subscribing and publishing take a lock: events are rare (a few per membership change), and a
/// subscription must see every event from the moment `subscribe` returns.
public final class MembershipEventHub: Sendable {
    private struct Subscribers {
        var next = 0
        var continuations: [Int: AsyncStream<MembershipEvent>.Continuation] = [:]
        var finished = false
    }

    /// Events a subscriber may have unread before the oldest are dropped.
    public static let bufferSize = 1024
    private let subscribers = LockedValue(Subscribers())

    public init() {}

    /// A stream of the events from now on; it ends when the node stops.
    public func subscribe() -> AsyncStream<MembershipEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: MembershipEvent.self,
                                                            bufferingPolicy: .bufferingNewest(Self.bufferSize))
        let id: Int? = subscribers.withLock { s in
            guard !s.finished else { return nil }
            s.next += 1
            s.continuations[s.next] = continuation
            return s.next
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { s in _ = s.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ event: MembershipEvent) {
        let targets = subscribers.withLock { s in Array(s.continuations.values) }
        for continuation in targets { continuation.yield(event) }
    }

    /// Ends every stream; later subscriptions end at once.
    func finish() {
        let targets = subscribers.withLock { s in
            s.finished = true
            defer { s.continuations = [:] }
            return Array(s.continuations.values)
        }
        for continuation in targets { continuation.finish() }
    }
}
