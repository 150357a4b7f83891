import ChorusCore
/// What a queued event is.
@usableFromInline enum EventKind: UInt8, Sendable {
    /// A datagram reaches `target` from `peer`.
    case datagram
    /// A stream message reaches `target` from `peer`; `targetGeneration` is the receiver's at send time.
    case reliable
    /// `target` learns that its stream message to `peer` was refused.
    case refused
    /// `target` learns that its stream message to `peer` timed out.
    case timedOut
    /// A wake-up `target` asked for comes due.
    case wake
    /// `target` has finished its current input and takes the next one from its inbox.
    case ready
}

/// One scheduled event: a small trivial struct, so the queue is a flat array without a class or an
/// existential per event. A message travels in `InFlightMessages`, named by `slot`.
@usableFromInline struct Event: Sendable {
    @usableFromInline var time: UInt64
    @usableFromInline var sequence: UInt64
    @usableFromInline var target: Int32
    @usableFromInline var peer: Int32
    @usableFromInline var slot: Int32
    /// The generation (incarnation) of `target` the event belongs to; stale events are dropped.
    @usableFromInline var targetGeneration: UInt32
    /// The generation of `peer` when the event was made (a stream message's sender).
    @usableFromInline var peerGeneration: UInt32
    @usableFromInline var kind: EventKind

    @inlinable init(
        time: UInt64, kind: EventKind, target: Int32, peer: Int32 = -1, slot: Int32 = -1,
        targetGeneration: UInt32, peerGeneration: UInt32 = 0
    ) {
        self.time = time
        self.sequence = 0
        self.target = target
        self.peer = peer
        self.slot = slot
        self.targetGeneration = targetGeneration
        self.peerGeneration = peerGeneration
        self.kind = kind
    }

    /// The queue's order: by time, then by insertion, so simultaneous events run in the order they
    /// were scheduled and a run never depends on anything but its inputs.
    @inlinable static func precedes(_ a: Event, _ b: Event) -> Bool {
        a.time < b.time || (a.time == b.time && a.sequence < b.sequence)
    }
}

/// The simulation's single event queue: a 4-ary min-heap over a flat array, ordered by (time,
/// sequence number assigned at insertion). Four children per node halve the depth of a binary heap,
/// and four siblings span two cache lines, which makes `pop` (the simulator's hottest spot) cheaper.
@usableFromInline struct EventQueue: Sendable {
    @usableFromInline var heap: [Event] = []
    @usableFromInline var nextSequence: UInt64 = 0

    @inlinable init() {}

    @inlinable var count: Int { heap.count }

    /// The time of the earliest event, or nil when the queue is empty.
    @inlinable var nextTime: UInt64? { heap.isEmpty ? nil : heap[0].time }

    /// Adds `event`, stamping it with the next sequence number.
    @inlinable mutating func push(_ event: Event) {
        var event = event
        event.sequence = nextSequence
        nextSequence &+= 1
        heap.append(event)
        heap.withUnsafeMutableBufferPointer { heap in
            var index = heap.count - 1
            while index > 0 {
                let parent = (index - 1) >> 2
                guard Event.precedes(event, heap[parent]) else { break }
                heap[index] = heap[parent]
                index = parent
            }
            heap[index] = event
        }
    }

    /// Removes and returns the earliest event; the queue must not be empty.
    @inlinable mutating func pop() -> Event {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap.withUnsafeMutableBufferPointer { heap in
                let count = heap.count
                var index = 0
                while true {
                    let firstChild = 4 * index + 1
                    if firstChild >= count { break }
                    var best = firstChild
                    let end = min(firstChild + 4, count)
                    var child = firstChild + 1
                    while child < end {
                        if Event.precedes(heap[child], heap[best]) { best = child }
                        child += 1
                    }
                    guard Event.precedes(heap[best], last) else { break }
                    heap[index] = heap[best]
                    index = best
                }
                heap[index] = last
            }
        }
        return first
    }
}
