import ChorusCore

/// The recent deltas a replica applied, kept to repair peers that missed them.
///
/// Rules:
/// - Every delta that brought something new is logged under each dot it saw for the first time
///   here (its own and the ones it replaced), so a peer missing a replaced write gets the write that
///   replaced it, which has the same effect. With the core's causal delivery, a replaced write is
///   always seen first, so the core logs a delta under its own dot alone (`append(write:at:)`).
/// - **Collection**: a delta leaves the log once every live peer has seen all its dots (their
///   digests say so), or when the log is over `capacity`, oldest first. A peer then missing a dot the
///   log no longer holds is sent a snapshot instead.
/// - Removing a key leaves no tombstone in the replica's map: the removal lives here, as a delta,
///   until every live node has seen it, and afterwards only as dots in the causal contexts.
public struct DeltaLog<Key: ReplicatedKey, Value: ReplicatedValue>: Sendable {
    struct Logged: Sendable {
        var delta: KeyDelta<Key, Value>
        /// The dots it is logged under: the first, then any others (rare: replaced writes first
        /// seen with it), so that the usual delta costs no array.
        var firstDot: Dot
        var otherDots: [Dot]
        var appliedAt: ProtocolTime

        func allDots(_ accept: (Dot) -> Bool) -> Bool { accept(firstDot) && otherDots.allSatisfy(accept) }
    }

    public let capacity: Int
    /// Oldest first; `head` is the index of the first live slot.
    private var slots: [Logged?] = []
    private var head = 0
    private var indexOf = DeltaLogIndex()
    /// The absolute number of the slot at `slots[0]` (slots are renumbered when compacted).
    private var base = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { slots.count - head }
    public var isEmpty: Bool { count == 0 }

    /// Logs a delta under the dots it brought (`newDots`, non-empty).
    public mutating func append(_ delta: KeyDelta<Key, Value>, newDots: [Dot], at now: ProtocolTime) {
        precondition(!newDots.isEmpty)
        append(delta, firstDot: newDots[0], otherDots: Array(newDots.dropFirst()), at: now)
    }

    /// Logs a delta under its own dot alone (a local write, or a received delta whose replaced
    /// writes were all seen before it: with causal delivery, every received one).
    public mutating func append(write delta: KeyDelta<Key, Value>, at now: ProtocolTime) {
        append(delta, firstDot: delta.dot, otherDots: [], at: now)
    }

    private mutating func append(_ delta: KeyDelta<Key, Value>, firstDot: Dot, otherDots: [Dot], at now: ProtocolTime) {
        let number = base + slots.count
        slots.append(Logged(delta: delta, firstDot: firstDot, otherDots: otherDots, appliedAt: now))
        indexOf.set(firstDot, number)
        for dot in otherDots { indexOf.set(dot, number) }
        while count > capacity { dropOldest() }
    }

    /// The delta logged under `dot`, with when it was applied.
    public func delta(for dot: Dot) -> (delta: KeyDelta<Key, Value>, appliedAt: ProtocolTime)? {
        guard let number = indexOf[dot], let logged = slots[number - base] else { return nil }
        return (logged.delta, logged.appliedAt)
    }

    /// Drops the oldest deltas applied before `appliedBefore` whose every dot `seenByAll` accepts,
    /// stopping at the first that is younger or not seen by all. Returns how many went.
    @discardableResult
    public mutating func collect(appliedBefore: ProtocolTime, seenByAll: (Dot) -> Bool) -> Int {
        var dropped = 0
        while head < slots.count, let logged = slots[head], logged.appliedAt < appliedBefore,
              logged.allDots(seenByAll) {
            dropOldest()
            dropped += 1
        }
        return dropped
    }

    /// When the oldest delta still logged was applied.
    public var oldestAppliedAt: ProtocolTime? { head < slots.count ? slots[head]?.appliedAt : nil }

    private mutating func dropOldest() {
        guard head < slots.count, let logged = slots[head] else { return }
        indexOf.remove(logged.firstDot, ifAt: base + head)
        for dot in logged.otherDots { indexOf.remove(dot, ifAt: base + head) }
        slots[head] = nil
        head += 1
        // Reclaim the dropped prefix once it is half of the storage.
        if head > 1024, head * 2 > slots.count {
            slots.removeFirst(head)
            base += head
            head = 0
        }
    }
}
