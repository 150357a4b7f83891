/// A shape: its definition as canonical text (the admin API passes canonical JSON: sorted keys, no
/// spaces), and the 64-bit hash of that whole text, which names it in its handle.
///
/// Rules:
/// - Two shapes are **equal** when their definitions are the same bytes (not merely canonically
///   equivalent Unicode): the definition is what the shape is, the hash only a short name for it.
/// - The **hash** is FNV-1a 64 over the definition's UTF-8 bytes (offset basis 0xcbf29ce484222325,
///   prime 0x100000001b3): fixed, so it is the same on every node, run and machine. Two different
///   shapes may share a hash (Electric #2778); `ShapeStatus` then gives them different handles and
///   never tells one for the other, since it compares whole definitions.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    public let definition: String
    public let hash: UInt64

    /// The longest definition a store keeps, in UTF-8 bytes (a string field's 16-bit length).
    public static let maxDefinitionBytes = Int(UInt16.max)

    public init(definition: String) {
        self.init(definition: definition, hash: Shape.fnv1a64(definition))
    }

    /// A shape with a given hash: tests inject collisions through it. Every other shape's hash is
    /// its definition's.
    init(definition: String, hash: UInt64) {
        self.definition = definition
        self.hash = hash
    }

    /// FNV-1a 64 of the UTF-8 bytes of `text`.
    public static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    public static func == (lhs: Shape, rhs: Shape) -> Bool {
        lhs.definition.utf8.elementsEqual(rhs.definition.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var text = definition
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    public var description: String { definition }
}
