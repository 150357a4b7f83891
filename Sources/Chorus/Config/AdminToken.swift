/// The bearer token of a node's admin API, read from the file the config names
/// (`admin_token_file:`). Every endpoint but `GET /v1/health` then asks for
/// `Authorization: Bearer <token>`.
///
/// The token never shows in a description, a log line or an error: only its length does.
public struct AdminToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Largest token file read: a token is a few dozen bytes.
    public static let maxFileBytes = 4096

    private let bytes: [UInt8]

    /// A token given as text (surrounding whitespace dropped). It must be an RFC 6750 `b64token`
    /// (letters, digits, `-._~+/`, then `=` padding), so that it fits an `Authorization` field
    /// as it is.
    public init(_ text: String) throws(ConfigError) {
        let trimmed = Array(text.utf8).trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else {
            throw ConfigError(field: "admin_token_file", problem: "the token is empty; write one in the file (e.g. openssl rand -hex 32 > FILE)")
        }
        guard Self.isBearerToken(trimmed) else {
            throw ConfigError(field: "admin_token_file", problem: "the token holds characters a bearer token cannot "
                                  + "(RFC 6750: letters, digits, '-', '.', '_', '~', '+', '/', then '=' padding)")
        }
        bytes = trimmed
    }

    /// The token in the file at `path` (a relative path is taken from the current directory, as
    /// `data_dir` is); surrounding whitespace, such as a final newline, is dropped. A missing,
    /// unreadable or empty file, or one that holds no bearer token, is a `ConfigError` that names
    /// the file and never shows its content.
    public init(file path: String) throws(ConfigError) {
        let text: String
        do {
            text = try ClusterConfig.readText(path: path, limit: Self.maxFileBytes, what: "a token file")
        } catch {
            throw ConfigError(field: "admin_token_file", problem: "\(path): \(error.problem)")
        }
        do {
            try self.init(text)
        } catch {
            throw ConfigError(field: "admin_token_file", problem: "\(path): \(error.problem)")
        }
    }

    /// The value of an `Authorization` field that presents this token.
    public var authorization: String { "Bearer " + String(decoding: bytes, as: UTF8.self) }

    /// Whether `presented` is this token. Rule: the time taken depends on the token's length
    /// only, never on how many leading bytes `presented` got right, so timing the answers does
    /// not reveal the token byte by byte.
    public func matches(_ presented: some Collection<UInt8>) -> Bool {
        var difference: UInt8 = presented.count == bytes.count ? 0 : 1
        var others = presented.makeIterator()
        for byte in bytes { difference |= byte ^ (others.next() ?? 0) }
        return difference == 0
    }

    public var description: String { "AdminToken(\(bytes.count) bytes)" }
    public var debugDescription: String { description }

    /// RFC 6750's `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
    public static func isBearerToken(_ bytes: some Collection<UInt8>) -> Bool {
        let body = bytes.prefix { $0 != UInt8(ascii: "=") }
        guard !body.isEmpty, bytes.dropFirst(body.count).allSatisfy({ $0 == UInt8(ascii: "=") }) else { return false }
        return body.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "-._~+/".utf8.contains(byte)
            }
        }
    }
}

extension Array where Element == UInt8 {
    /// Without leading and trailing spaces, tabs, CR and LF.
    fileprivate func trimmingASCIIWhitespace() -> [UInt8] {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return [] }
        return Array(self[first...last])
    }
}
