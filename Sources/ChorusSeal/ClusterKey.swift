import ChorusWire
import Crypto

/// A key of the cluster's keyring: 32 random bytes (AES-256), written as base64 in configs, files
/// and the admin API. Its `id` (the first four bytes of its SHA-256) travels in clear with every
/// sealed packet, so that a receiver picks the key to open it with without trying each.
public struct ClusterKey: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32

    /// The key itself; never logged (`description` shows the id alone).
    public let bytes: [UInt8]
    public let id: KeyID

    /// A key from its base64 text (standard alphabet, padded), which must hold exactly 32 bytes.
    public init(base64 text: String) throws(KeyringError) {
        guard let decoded = Base64.decode(String(text.trimmingWhitespace)), decoded.count == Self.byteCount else {
            throw .invalidKey("a key is 32 bytes in base64 (44 characters, e.g. from `chorus keys generate`)")
        }
        self.init(bytes: decoded)
    }

    /// A key from its 32 bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "a cluster key is 32 bytes")
        self.bytes = bytes
        let digest = Array(SHA256.hash(data: bytes))
        id = KeyID(rawValue: UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3]))
    }

    /// A new random key.
    public static func generate() -> ClusterKey {
        var generator = SystemRandomNumberGenerator()
        return ClusterKey(bytes: (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The key as base64 text (what `chorus keys generate` prints).
    public var base64: String { Base64.encode(bytes) }

    public var description: String { "key \(id)" }
}

/// The public name of a key: four bytes of its SHA-256, shown as 8 hex digits.
public struct KeyID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
