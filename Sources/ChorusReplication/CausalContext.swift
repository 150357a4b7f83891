import ChorusWire

/// The set of writes a replica has seen: per origin, every sequence up to a bound (the version
/// vector), plus the few seen out of order (the cloud).
///
/// Rules:
/// - A dot is **seen** once its write was applied here, or once a write that replaced it was (the
///   replaced write then never needs to arrive: it would change nothing).
/// - **Compaction**: when the dot after an origin's bound is seen, the bound moves over it and over
///   every cloud dot that now follows without a gap, so a replica that missed nothing holds one
///   number per origin.
/// - `formUnion` is a join: commutative, associative, idempotent.
public struct CausalContext: Hashable, Sendable, CustomStringConvertible {
    /// Per origin, the highest sequence below which nothing is missing.
    public private(set) var versions: [NodeUID: UInt64] = [:]
    /// Dots seen above their origin's bound, with a gap before them.
    public private(set) var cloud: Set<Dot> = []

    public init() {}

    public init(versions: [NodeUID: UInt64], cloud: some Sequence<Dot> = []) {
        self.versions = versions.filter { $0.value > 0 }
        for dot in cloud { insert(dot) }
    }

    public var isEmpty: Bool { versions.isEmpty && cloud.isEmpty }


    /// The bound of `origin`: every one of its writes up to it is seen.
    public func version(of origin: NodeUID) -> UInt64 { versions[origin] ?? 0 }

    public func contains(_ dot: Dot) -> Bool {
        dot.sequence <= version(of: dot.origin) || (!cloud.isEmpty && cloud.contains(dot))
    }

    /// Marks `dot` seen; false when it already was.
    @discardableResult
    public mutating func insert(_ dot: Dot) -> Bool {
        // One lookup of the origin: its bound is read and moved through the same index.
        let index = versions.index(forKey: dot.origin)
        let bound = index.map { versions.values[$0] } ?? 0
        if dot.sequence <= bound { return false }
        if dot.sequence == bound + 1 {
            var next = dot.sequence
            if !cloud.isEmpty {
                while cloud.remove(Dot(origin: dot.origin, sequence: next + 1)) != nil { next += 1 }
            }
            if let index { versions.values[index] = next } else { versions[dot.origin] = next }
            return true
        }
        return cloud.insert(dot).inserted
    }

    /// Every dot of either context.
    public mutating func formUnion(_ other: CausalContext) {
        for (origin, bound) in other.versions where bound > version(of: origin) {
            versions[origin] = bound
            // Cloud dots the new bound covers, or that now follow it, fold in.
            var next = bound
            if !cloud.isEmpty {
                cloud = cloud.filter { $0.origin != origin || $0.sequence > bound }
                while cloud.remove(Dot(origin: origin, sequence: next + 1)) != nil { next += 1 }
                versions[origin] = next
            }
        }
        for dot in other.cloud { insert(dot) }
    }

    public func union(_ other: CausalContext) -> CausalContext {
        var result = self
        result.formUnion(other)
        return result
    }

    /// Whether every dot of `other` is seen here.
    public func covers(_ other: CausalContext) -> Bool {
        other.versions.allSatisfy { version(of: $0.key) >= $0.value } && other.cloud.allSatisfy(contains)
    }

    /// The dots seen here that `other` has not seen, as runs of consecutive sequences of one origin,
    /// sorted.
    public func missing(from other: CausalContext) -> [DotRun] {
        var runs: [DotRun] = []
        for (origin, bound) in versions {
            var next = other.version(of: origin) + 1
            guard next <= bound else { continue }
            // The other's cloud dots of this origin inside the range split it.
            let holes = other.cloud.lazy.filter { $0.origin == origin && $0.sequence >= next && $0.sequence <= bound }
                .map(\.sequence).sorted()
            for hole in holes {
                if hole > next { runs.append(DotRun(origin: origin, first: next, last: hole - 1)) }
                next = hole + 1
            }
            if next <= bound { runs.append(DotRun(origin: origin, first: next, last: bound)) }
        }
        for dot in cloud where !other.contains(dot) {
            runs.append(DotRun(origin: dot.origin, first: dot.sequence, last: dot.sequence))
        }
        return runs.sorted { ($0.origin.rawValue, $0.first) < ($1.origin.rawValue, $1.first) }
    }

    public var description: String {
        let bounds = versions.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
        let extra = cloud.sorted().map(\.description)
        return "[" + (bounds + extra).joined(separator: " ") + "]"
    }
}

/// Consecutive writes of one origin: sequences `first...last`.
public struct DotRun: Hashable, Sendable, CustomStringConvertible {
    public var origin: NodeUID
    public var first: UInt64
    public var last: UInt64

    public init(origin: NodeUID, first: UInt64, last: UInt64) {
        self.origin = origin
        self.first = first
        self.last = last
    }

    public var count: UInt64 { last - first + 1 }

    public var dots: some Sequence<Dot> { (first...last).lazy.map { Dot(origin: origin, sequence: $0) } }

    public var description: String { "\(origin)/\(first)...\(last)" }
}

extension CausalContext: WireBody {
    /// The most origins a context may name (every run of every node the cluster ever had).
    public static let maxOrigins = 1 << 16
    /// The most out-of-order dots a context on the wire may carry.
    public static let maxCloud = 1 << 20

    public func encode(to writer: inout WireWriter) {
        let bounds = versions.sorted { $0.key < $1.key }
        writer.writeArray(bounds, maxCount: Self.maxOrigins) { writer, entry in
            writer.writeUInt64(entry.key.rawValue)
            writer.writeUInt64(entry.value)
        }
        writer.writeArray(cloud.sorted(), maxCount: Self.maxCloud)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let bounds = try reader.readArray(maxCount: Self.maxOrigins) { (reader: inout WireReader) throws(WireError) in
            (NodeUID(rawValue: try reader.readUInt64()), try reader.readUInt64())
        }
        // Only the canonical form is accepted: origins sorted and once each with a bound above
        // zero, cloud dots sorted, each above its origin's bound with a gap before it.
        var versions: [NodeUID: UInt64] = [:]
        var previous: NodeUID?
        for (origin, bound) in bounds {
            guard previous.map({ $0 < origin }) ?? true, bound > 0 else {
                throw .malformed("a causal context's origins must be sorted, once each, with bounds above 0")
            }
            previous = origin
            versions[origin] = bound
        }
        let cloud = try reader.readArray(of: Dot.self, maxCount: Self.maxCloud)
        var last: Dot?
        for dot in cloud {
            guard last.map({ $0 < dot }) ?? true, dot.sequence > (versions[dot.origin] ?? 0) + 1 else {
                throw .malformed("a causal context's cloud must be sorted and hold only dots after a gap")
            }
            last = dot
        }
        self.versions = versions
        self.cloud = Set(cloud)
    }
}
