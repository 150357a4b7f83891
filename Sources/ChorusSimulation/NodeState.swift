import ChorusCore
/// A node's inputs waiting for it in arrival order: while it is busy with an earlier input (see
/// `Simulation.processingCost` and `setSlowdown`) or paused.
@usableFromInline struct Inbox: Sendable {
    @usableFromInline var items: [Event] = []
    @usableFromInline var head = 0

    @inlinable init() {}

    @inlinable var isEmpty: Bool { head == items.count }
    @inlinable var count: Int { items.count - head }

    @inlinable mutating func append(_ event: Event) { items.append(event) }

    @inlinable mutating func popFirst() -> Event? {
        guard head < items.count else { return nil }
        let event = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return event
    }

    /// Removes and returns everything waiting.
    @inlinable mutating func drain() -> ArraySlice<Event> {
        let waiting = items[head...]
        items = []
        head = 0
        return waiting
    }
}

/// What the simulation knows about one address besides the node itself.
@usableFromInline struct NodeState: Sendable {
    /// Bumped at every crash: events of an earlier incarnation are dropped when they come due.
    @usableFromInline var generation: UInt32 = 0
    @usableFromInline var crashed = false
    @usableFromInline var paused = false
    /// Wake-ups that came due while paused; they run after the backlog on resume.
    @usableFromInline var wakesDueWhilePaused = 0
    /// The node's own clock: it is busy with its current input until this time.
    @usableFromInline var busyUntil: UInt64 = 0
    /// Virtual nanoseconds one input costs this node (`processingCost * slowdown`).
    @usableFromInline var cost: UInt64
    @usableFromInline var slowdown: Double = 1
    /// Whether a `.ready` event for this node is queued.
    @usableFromInline var readyQueued = false
    @usableFromInline var inbox = Inbox()
    /// The node's group in the current partition, or -1 when it is in none.
    @usableFromInline var partitionGroup: Int32 = -1

    @inlinable init(cost: UInt64) { self.cost = cost }
}
