/// Identity of one run of a node process.
///
/// A node draws a fresh uid every time it starts, so a restarted node (same name, same address)
/// is distinguishable from its previous incarnation, and its old members are never confused
/// with new ones. Rendered as 16 lowercase hex digits.
public struct NodeUID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Parses exactly 16 hex digits (either case), the form `description` produces.
    public init?(hex text: some StringProtocol) {
        let utf8 = text.utf8
        guard utf8.count == 16 else { return nil }
        var value: UInt64 = 0
        for byte in utf8 {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        self.rawValue = value
    }

    /// A new uid from the system's cryptographically secure generator.
    public static func random() -> NodeUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A new uid from `generator`; simulations pass a seeded one so runs replay exactly.
    public static func random(using generator: inout some RandomNumberGenerator) -> NodeUID {
        NodeUID(rawValue: generator.next())
    }

    /// 16 lowercase hex digits, zero padded.
    public var description: String {
        let digits = String(rawValue, radix: 16, uppercase: false)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static func < (lhs: NodeUID, rhs: NodeUID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
