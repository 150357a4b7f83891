import ChorusWire

/// A key of a replicated store: hashable for the replica's map, encodable for deltas, snapshots and
/// the disk.
public typealias ReplicatedKey = Hashable & Sendable & WireBody

/// A value of a replicated store.
public typealias ReplicatedValue = Equatable & Sendable & WireBody

/// One value written to a key, with the dot of the write that wrote it.
public struct CausalEntry<Value: ReplicatedValue>: Equatable, Sendable {
    public var dot: Dot
    public var value: Value

    public init(dot: Dot, value: Value) {
        self.dot = dot
        self.value = value
    }
}

/// The values a key holds: one, or several when writes on different nodes did not see each other.
///
/// Every entry's dot is distinct. Reading resolves concurrent entries with the store's own rule (the
/// highest epoch, the latest offset, ...), which must not depend on their order; equality and the
/// encoding ignore the order too (entries are encoded sorted by dot).
public struct CausalEntries<Value: ReplicatedValue>: Equatable, Sendable {
    /// The first entry inline: almost every key has exactly one.
    public private(set) var first: CausalEntry<Value>
    public private(set) var others: [CausalEntry<Value>]

    public init(_ entry: CausalEntry<Value>) {
        first = entry
        others = []
    }

    public var count: Int { 1 + others.count }

    public static func == (lhs: CausalEntries, rhs: CausalEntries) -> Bool {
        if lhs.others.isEmpty && rhs.others.isEmpty { return lhs.first == rhs.first }
        return lhs.count == rhs.count && lhs.sorted == rhs.sorted
    }

    /// Every entry, sorted by dot.
    public var sorted: [CausalEntry<Value>] { others.isEmpty ? [first] : all.sorted { $0.dot < $1.dot } }

    /// Every entry, the inline one first.
    public var all: [CausalEntry<Value>] { [first] + others }

    public var values: [Value] { others.isEmpty ? [first.value] : all.map(\.value) }

    public var dots: [Dot] { others.isEmpty ? [first.dot] : all.map(\.dot) }

    public func contains(_ dot: Dot) -> Bool {
        first.dot == dot || others.contains { $0.dot == dot }
    }

    /// Adds an entry whose dot is not here yet.
    mutating func append(_ entry: CausalEntry<Value>) {
        others.append(entry)
    }

    /// The entries `keep` accepts; nil when none is left.
    func filter(_ keep: (CausalEntry<Value>) -> Bool) -> CausalEntries? {
        if others.isEmpty { return keep(first) ? self : nil }
        let kept = all.filter(keep)
        guard let head = kept.first else { return nil }
        var result = CausalEntries(head)
        result.others = Array(kept.dropFirst())
        return result
    }
}

extension CausalEntries: WireBody {
    /// The most concurrent entries one key may hold on the wire (one per writer that raced).
    public static var maxEntries: Int { 1 << 12 }

    public func encode(to writer: inout WireWriter) {
        if others.isEmpty {
            // The usual key: one entry, written without building an array.
            writer.writeUInt32(1)
            first.dot.encode(to: &writer)
            first.value.encode(to: &writer)
            return
        }
        writer.writeArray(sorted, maxCount: Self.maxEntries) { writer, entry in
            entry.dot.encode(to: &writer)
            entry.value.encode(to: &writer)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let count = Int(try reader.readUInt32())
        guard count >= 1 else { throw .malformed("a key with no entries") }
        guard count <= Self.maxEntries else { throw .oversized(length: count, limit: Self.maxEntries) }
        // The first entry inline, the others (rare) in order: no array for the usual key.
        var previous = try Dot(from: &reader)
        self.init(CausalEntry(dot: previous, value: try Value(from: &reader)))
        for _ in 1..<count {
            let dot = try Dot(from: &reader)
            guard previous < dot else { throw .malformed("a key's entries must be sorted by dot, each dot once") }
            others.append(CausalEntry(dot: dot, value: try Value(from: &reader)))
            previous = dot
        }
    }
}
