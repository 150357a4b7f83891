#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// News waiting to ride on outgoing packets (piggybacked dissemination, SWIM §4.1).
///
/// Rules (as memberlist's TransmitLimitedQueue):
/// - news about a subject (a member's name) replaces older news about the same subject;
/// - each item is sent at most `retransmitLimit(clusterSize)` times, then dropped;
/// - a packet takes the least-sent items first and, among those, the newest first, as many as fit
///   in its byte budget.
public struct BroadcastQueue<Item: Sendable>: Sendable {
    /// One queued item. A slot is reused when its subject gets newer news; references to the
    /// older news then no longer match the slot's id and are dropped when met.
    struct Slot: Sendable {
        let id: UInt64
        let subject: String
        let item: Item
        let size: Int
    }

    typealias Reference = BroadcastQueueReference

    private var slots: [Slot?] = []
    private var freeSlots: [Int] = []
    /// The slot of each subject with news waiting.
    private var live: [String: Int] = [:]
    /// `buckets[t]` refers to the items sent `t` times: a heap with the newest on top.
    private var buckets: [NewestFirstHeap] = [NewestFirstHeap()]
    private var nextID: UInt64 = 0
    /// Items too big for what was left of a packet that `take` passes over before it stops
    /// looking: it keeps a packet's cost bounded when the queue is long.
    private static var maxSkips: Int { 16 }

    public init() {}

    /// Items waiting (each subject counts once).
    public var count: Int { live.count }
    public var isEmpty: Bool { live.isEmpty }

    /// How many times news is sent in a cluster of `clusterSize`: `multiplier * ceil(log10(n + 1))`
    /// (8/12/16/20 at n = 10/100/1,000/10,000 with multiplier 4).
    public static func retransmitLimit(clusterSize: Int, multiplier: Int) -> Int {
        let scale = Int(ceil(log10(Double(max(clusterSize, 0)) + 1)))
        return multiplier * max(scale, 1)
    }

    /// Queues `item` about `subject`, replacing any queued news about the same subject.
    public mutating func enqueue(_ item: Item, subject: String, size: Int) {
        nextID += 1
        let slot: Int
        if let existing = live[subject] {
            slot = existing
        } else if let free = freeSlots.popLast() {
            slot = free
            live[subject] = slot
        } else {
            slot = slots.count
            slots.append(nil)
            live[subject] = slot
        }
        slots[slot] = Slot(id: nextID, subject: subject, item: item, size: size)
        buckets[0].push(Reference(slot: slot, id: nextID))
    }

    /// Drops queued news about `subject`.
    public mutating func remove(subject: String) {
        guard let slot = live.removeValue(forKey: subject) else { return }
        release(slot)
    }

    /// The items for one packet: least-sent first, newest first among equals, while each item's
    /// `size + overheadPerItem` fits in what is left of `budget`. Items reaching `limit` sends
    /// are dropped.
    ///
    /// Cost: the items taken plus at most `maxSkips` passed over (and stale references met),
    /// whatever the length of the queue.
    public mutating func take(budget: Int, overheadPerItem: Int, limit: Int) -> [Item] {
        var remaining = budget
        var taken: [Item] = []
        var skips = 0
        var transmits = 0
        // Promotions wait until the packet is complete, or an item could ride in it twice.
        var promoted: [(transmits: Int, reference: Reference)] = []
        while transmits < buckets.count, remaining > overheadPerItem, skips < Self.maxSkips {
            var passed: [Reference] = []
            while remaining > overheadPerItem, skips < Self.maxSkips, let reference = buckets[transmits].pop() {
                guard let slot = slots[reference.slot], slot.id == reference.id else { continue }  // stale
                guard slot.size + overheadPerItem <= remaining else {
                    passed.append(reference)
                    skips += 1
                    continue
                }
                remaining -= slot.size + overheadPerItem
                taken.append(slot.item)
                if transmits + 1 >= limit {
                    live.removeValue(forKey: slot.subject)
                    release(reference.slot)
                } else {
                    promoted.append((transmits + 1, reference))
                }
            }
            for reference in passed { buckets[transmits].push(reference) }
            transmits += 1
        }
        for (transmits, reference) in promoted {
            while buckets.count <= transmits { buckets.append(NewestFirstHeap()) }
            buckets[transmits].push(reference)
        }
        while buckets.count > 1, buckets[buckets.count - 1].isEmpty { buckets.removeLast() }
        return taken
    }

    private mutating func release(_ slot: Int) {
        slots[slot] = nil
        freeSlots.append(slot)
    }
}

/// References ordered by id, newest (highest) on top: a binary heap, so that taking the newest
/// and putting back cost `log n` however long the queue grows.
struct NewestFirstHeap: Sendable {
    private var items: [BroadcastQueueReference] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ item: BroadcastQueueReference) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[parent].id < items[child].id else { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> BroadcastQueueReference? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        while true {
            let left = parent * 2 + 1, right = left + 1
            var largest = parent
            if left < items.count, items[left].id > items[largest].id { largest = left }
            if right < items.count, items[right].id > items[largest].id { largest = right }
            guard largest != parent else { break }
            items.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}

/// A bucket's reference to a slot of the queue.
struct BroadcastQueueReference: Sendable {
    let slot: Int
    let id: UInt64
}
