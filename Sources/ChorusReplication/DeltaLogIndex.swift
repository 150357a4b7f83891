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

    private var runs: [NodeUID: Run] = [:]
    private var scattered: [Dot: Int] = [:]

    subscript(dot: Dot) -> Int? {
        if let run = runs[dot.origin], let position = run.position(of: dot.sequence) {
            let number = run.slots[position]
            return number >= 0 ? number : nil
        }
        return scattered.isEmpty ? nil : scattered[dot]
    }

    mutating func set(_ dot: Dot, _ number: Int) {
        guard let index = runs.index(forKey: dot.origin) else {
            runs[dot.origin] = Run(first: dot.sequence, slots: [number])
            return
        }
        // In place: one lookup of the origin, no copy of its run.
        if let position = runs.values[index].position(of: dot.sequence) {
            runs.values[index].slots[position] = number
        } else if dot.sequence >= runs.values[index].end, dot.sequence - runs.values[index].end <= Self.maxGap {
            let holes = Int(dot.sequence - runs.values[index].end)
            if holes > 0 { runs.values[index].slots.append(contentsOf: repeatElement(-1, count: holes)) }
            runs.values[index].slots.append(number)
        } else {
            scattered[dot] = number
        }
    }

    /// Forgets `dot` if it still names slot `number` (a later delta may have taken it over).
    mutating func remove(_ dot: Dot, ifAt number: Int) {
        if let index = runs.index(forKey: dot.origin), let position = runs.values[index].position(of: dot.sequence) {
            guard runs.values[index].slots[position] == number else { return }
            runs.values[index].slots[position] = -1
            runs.values[index].dropLeadingHoles()
            return
        }
        if scattered[dot] == number { scattered[dot] = nil }
    }
}
