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
    struct Entry: Sendable {
        let id: UInt64
        let subject: String
        let item: Item
        let size: Int
    }

    /// `buckets[t]` holds the items sent `t` times, oldest first.
    private var buckets: [[Entry]] = [[]]
    /// The live entry id of each subject; older entries about it are stale and skipped.
    private var live: [String: UInt64] = [:]
    private var nextID: UInt64 = 0

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
        live[subject] = nextID
        buckets[0].append(Entry(id: nextID, subject: subject, item: item, size: size))
    }

    /// Drops queued news about `subject`.
    public mutating func remove(subject: String) {
        live.removeValue(forKey: subject)
    }

    /// The items for one packet: least-sent first, newest first among equals, while each item's
    /// `size + overheadPerItem` fits in what is left of `budget`. Items reaching `limit` sends
    /// are dropped.
    public mutating func take(budget: Int, overheadPerItem: Int, limit: Int) -> [Item] {
        var remaining = budget
        var taken: [Item] = []
        var promoted: [(transmits: Int, entry: Entry)] = []
        for transmits in buckets.indices {
            guard remaining > overheadPerItem else { break }
            var bucket = buckets[transmits]
            var index = bucket.count - 1
            while index >= 0 && remaining > overheadPerItem {
                let entry = bucket[index]
                if live[entry.subject] != entry.id {
                    bucket.remove(at: index)
                } else if entry.size + overheadPerItem <= remaining {
                    remaining -= entry.size + overheadPerItem
                    taken.append(entry.item)
                    bucket.remove(at: index)
                    if transmits + 1 >= limit {
                        live.removeValue(forKey: entry.subject)
                    } else {
                        promoted.append((transmits + 1, entry))
                    }
                }
                index -= 1
            }
            buckets[transmits] = bucket
        }
        for (transmits, entry) in promoted {
            while buckets.count <= transmits { buckets.append([]) }
            // Keep each bucket ordered by age so "newest first" holds after promotion.
            let position = buckets[transmits].lastIndex { $0.id < entry.id }.map { $0 + 1 } ?? 0
            buckets[transmits].insert(entry, at: position)
        }
        return taken
    }
}
