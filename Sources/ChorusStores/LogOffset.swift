/// A position in a shape's log (Electric's `LogOffset`): the offset of a transaction, then of an
/// operation inside it.
///
/// Rules:
/// - **Order** is lexicographic: by `txOffset`, then by `opOffset`.
/// - `beforeAll` (-1, 0) comes before every position, `first` (0, 0) is where a new shape's log
///   starts, `last` (max, max) comes after every position.
/// - The **text form** is `"<tx>_<op>"` in decimal (`"12_3"`, `"-1_0"`). The parser is strict: it
///   takes only what `description` prints for a valid offset (both parts at least 0, or `beforeAll`),
///   plus `"-1"` alone for `beforeAll`, as Electric prints it. No sign but that one minus, no
///   leading zeros, no spaces.
public struct LogOffset: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var txOffset: Int64
    public var opOffset: Int64

    public init(txOffset: Int64, opOffset: Int64) {
        self.txOffset = txOffset
        self.opOffset = opOffset
    }

    /// Before every position: (-1, 0).
    public static let beforeAll = LogOffset(txOffset: -1, opOffset: 0)
    /// Where a new shape's log starts: (0, 0).
    public static let first = LogOffset(txOffset: 0, opOffset: 0)
    /// After every position: (Int64.max, Int64.max).
    public static let last = LogOffset(txOffset: .max, opOffset: .max)

    public static func < (lhs: LogOffset, rhs: LogOffset) -> Bool {
        (lhs.txOffset, lhs.opOffset) < (rhs.txOffset, rhs.opOffset)
    }

    /// `"<tx>_<op>"`, e.g. `"12_3"`; `beforeAll` is `"-1_0"`.
    public var description: String { "\(txOffset)_\(opOffset)" }

    /// Parses the text form (see the type's rules); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        if utf8 == Array("-1".utf8) {
            self = .beforeAll
            return
        }
        guard let separator = utf8.firstIndex(of: UInt8(ascii: "_")),
              let tx = canonicalDecimal(utf8[..<separator]),
              let op = canonicalDecimal(utf8[(separator + 1)...]) else { return nil }
        let offset = LogOffset(txOffset: tx, opOffset: op)
        guard offset == .beforeAll || (tx >= 0 && op >= 0) else { return nil }
        self = offset
    }
}

/// A decimal Int64 written the one way Swift prints it: an optional minus, then digits with no
/// leading zero (except `0` itself, never `-0`); nil on anything else or on overflow.
func canonicalDecimal(_ utf8: ArraySlice<UInt8>) -> Int64? {
    var digits = utf8
    let negative = digits.first == UInt8(ascii: "-")
    if negative { digits = digits.dropFirst() }
    guard let lead = digits.first, (1...19).contains(digits.count),
          digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
    if lead == UInt8(ascii: "0") && (digits.count > 1 || negative) { return nil }
    var magnitude: UInt64 = 0
    for digit in digits {
        let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
        guard !overflow1, !overflow2 else { return nil }
        magnitude = sum
    }
    if negative {
        guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
        return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
    }
    guard magnitude <= UInt64(Int64.max) else { return nil }
    return Int64(magnitude)
}
