import ChorusWire

/// The name of one write: the node run that made it (`origin`) and that run's count of its writes
/// (`sequence`, from 1).
///
/// Rules:
/// - **Unique**: a node draws a new uid at every start, so a restarted node never reuses a dot,
///   even for writes it made but never persisted before it died.
/// - **Ordered per origin**: an origin's writes are numbered in the order it made them. Between
///   two origins the order (`<`, by origin then sequence) only sorts; it says nothing of which
///   write came first.
///
/// The text form is the origin's 16 hex digits, a slash, and the sequence in hex
/// (`"64f48df6ba3333eb/1A2F"`), in the manner of PostgreSQL's LSNs.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var origin: NodeUID
    public var sequence: UInt64

    public init(origin: NodeUID, sequence: UInt64) {
        self.origin = origin
        self.sequence = sequence
    }

    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        (lhs.origin.rawValue, lhs.sequence) < (rhs.origin.rawValue, rhs.sequence)
    }

    /// Whether this write comes after `other` in their origin's order; nil when the origins differ.
    public func follows(_ other: Dot) -> Bool? {
        origin == other.origin ? sequence > other.sequence : nil
    }

    public var description: String {
        "\(origin)/\(String(sequence, radix: 16, uppercase: true))"
    }

    /// Parses the text form (`description`); the sequence takes 1 to 16 hex digits of either case.
    public init?(_ text: some StringProtocol) {
        guard let slash = text.firstIndex(of: "/"),
              let origin = NodeUID(hex: text[..<slash]) else { return nil }
        let digits = text[text.index(after: slash)...]
        guard (1...16).contains(digits.utf8.count),
              digits.utf8.allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") }),
              let sequence = UInt64(digits, radix: 16) else { return nil }
        self.init(origin: origin, sequence: sequence)
    }
}

extension Dot: WireBody {
    public func encode(to writer: inout WireWriter) {
        writer.writeUInt64(origin.rawValue)
        writer.writeUInt64(sequence)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let origin = NodeUID(rawValue: try reader.readUInt64())
        let sequence = try reader.readUInt64()
        guard sequence > 0 else { throw .malformed("a dot's sequence starts at 1") }
        self.init(origin: origin, sequence: sequence)
    }
}
