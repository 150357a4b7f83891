import ChorusWire

/// Where the delta log keeps the delta of each dot: per origin, the slot numbers in an array
/// indexed by sequence (an origin's dots arrive almost always in order, so the array has few
/// holes), and a dictionary for the dots that do not fit (far ahead of, or behind, their origin's
/// run). A lookup is then an index into an array, not a hash of the dot.
struct DeltaLogIndex: Sendable {
    private struct Run: Sendable {
        /// The sequence of `slots[0]`.
        var first: UInt64
        /// Slot numbers; -1 where no delta is logged.
        var slots: [Int]
        /// Entries before it are gone.
        var head = 0

        var end: UInt64 { first + UInt64(slots.count) }

        /// Moves `head` past the holes at the front; reclaims the storage before it when that is
        /// half of it, and starts afresh, at the run's end, when nothing is left.
        mutating func dropLeadingHoles() {
            while head < slots.count, slots[head] < 0 { head += 1 }
            if head == slots.count {
                first = end
                slots.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > slots.count {
                slots.removeFirst(head)
                first += UInt64(head)
                head = 0
            }
        }

        func position(of sequence: UInt64) -> Int? {
            guard sequence >= first else { return nil }
            let offset = sequence - first
            guard offset < UInt64(slots.count), Int(offset) >= head else { return nil }
            return Int(offset)
        }
    }

    /// The most holes a run is padded with to take a dot ahead of it.
    static let maxGap: UInt64 = 1024

    /// The run of the origin used last, kept out of `runs`: deltas come in long stretches of one
    /// origin (this node's writes, a peer's batch), which then cost no hash of the origin.
    private var hotOrigin: NodeUID?
    private var hot = Run(first: 0, slots: [])
    /// Every other origin's run.
    private var runs: [NodeUID: Run] = [:]
    private var scattered: [Dot: Int] = [:]

    subscript(dot: Dot) -> Int? {
        let run = dot.origin == hotOrigin ? hot : runs[dot.origin]
        if let run, let position = run.position(of: dot.sequence) {
            let number = run.slots[position]
            return number >= 0 ? number : nil
        }
        return scattered.isEmpty ? nil : scattered[dot]
    }

    /// Makes `origin`'s run the hot one, starting it at `sequence` if it has none; false when it
    /// has none and `sequence` is nil.
    private mutating func heat(_ origin: NodeUID, startingAt sequence: UInt64?) -> Bool {
        if origin == hotOrigin { return true }
        guard let run = runs.removeValue(forKey: origin) ?? sequence.map({ Run(first: $0, slots: []) }) else { return false }
        if let previous = hotOrigin { runs[previous] = hot }
        hotOrigin = origin
        hot = run
        return true
    }

    mutating func set(_ dot: Dot, _ number: Int) {
        _ = heat(dot.origin, startingAt: dot.sequence)
        if let position = hot.position(of: dot.sequence) {
            hot.slots[position] = number
        } else if dot.sequence >= hot.end, dot.sequence - hot.end <= Self.maxGap {
            let holes = Int(dot.sequence - hot.end)
            if holes > 0 { hot.slots.append(contentsOf: repeatElement(-1, count: holes)) }
            hot.slots.append(number)
        } else {
            scattered[dot] = number
        }
    }

    /// Forgets `dot` if it still names slot `number` (a later delta may have taken it over).
    mutating func remove(_ dot: Dot, ifAt number: Int) {
        if heat(dot.origin, startingAt: nil), let position = hot.position(of: dot.sequence) {
            guard hot.slots[position] == number else { return }
            hot.slots[position] = -1
            hot.dropLeadingHoles()
            return
        }
        if scattered[dot] == number { scattered[dot] = nil }
    }
}
