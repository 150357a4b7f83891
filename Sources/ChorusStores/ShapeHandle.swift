/// The name a shape gets when it is added: `"<hash>-<unix ms>"`, the shape's hash as 16 lowercase
/// hex digits and the time of the add in unix milliseconds (`"00a1b2c3d4e5f607-1718000000000"`).
///
/// Rules:
/// - Only that form exists: the parser takes exactly 16 lowercase hex digits, a minus, and the
///   milliseconds in decimal (at least 0, no sign, no leading zero), nothing else.
/// - **Order**: by milliseconds, then by text. When concurrent adds on two nodes gave one shape two
///   handles, the lowest is the shape's handle everywhere.
///
/// Only the text is stored (one string, so store keys stay small); the hash and the milliseconds
/// are read back from it.
public struct ShapeHandle: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let text: String

    /// The handle of a shape with `hash` added at `millis` (at least 0).
    public init(hash: UInt64, millis: Int64) {
        precondition(millis >= 0, "a handle's time is a unix time in milliseconds")
        let digits = String(hash, radix: 16, uppercase: false)
        text = String(repeating: "0", count: 16 - digits.count) + digits + "-" + String(millis)
    }

    /// Parses the text form; nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard ShapeHandle.parse(Array(text.utf8)) != nil else { return nil }
        self.text = String(text)
    }

    /// The hash of the shape it was made for.
    public var hash: UInt64 { ShapeHandle.parse(Array(text.utf8))!.hash }

    /// When it was made, in unix milliseconds.
    public var millis: Int64 { ShapeHandle.parse(Array(text.utf8))!.millis }

    public static func < (lhs: ShapeHandle, rhs: ShapeHandle) -> Bool {
        let left = lhs.millis, right = rhs.millis
        return left != right ? left < right : lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8)
    }

    public var description: String { text }

    private static func parse(_ utf8: [UInt8]) -> (hash: UInt64, millis: Int64)? {
        guard utf8.count >= 18, utf8[16] == UInt8(ascii: "-") else { return nil }
        var hash: UInt64 = 0
        for byte in utf8[..<16] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            hash = hash << 4 | UInt64(digit)
        }
        let digits = utf8[17...]
        guard digits.first != UInt8(ascii: "-"), let millis = canonicalDecimal(digits) else { return nil }
        return (hash, millis)
    }
}
