/// One parsed HTTP/1.x request, its body whole (decoded when it came chunked).
public struct HTTPRequest: Sendable, Equatable {
    /// The method as sent, e.g. `GET` (methods are case-sensitive).
    public var method: String
    /// The request target as sent: `/v1/members/n1?x=1`.
    public var target: String
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 (a later 1.x is treated as 1.1).
    public var minorVersion: Int
    /// The header fields in their order, names as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, minorVersion: Int = 1,
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
    }

    /// The path of the target, without the query; the path of an absolute-form target
    /// (`http://host/path`).
    public var path: String {
        var path = Substring(target)
        if let query = path.firstIndex(of: "?") { path = path[..<query] }
        if path.hasPrefix("http://") || path.hasPrefix("https://") {
            let authority = path.drop(while: { $0 != ":" }).dropFirst(3)
            path = authority.firstIndex(of: "/").map { authority[$0...] } ?? "/"
        }
        return String(path)
    }

    /// The query of the target (after `?`) as name-value pairs in order, each percent-decoded
    /// (`+` stays a plus): `ack=true&timeout_ms=500`. A pair without `=` has an empty value.
    /// Nil when a name or value is not valid percent-encoded UTF-8.
    public var query: [(name: String, value: String)]? {
        guard let mark = target.firstIndex(of: "?") else { return [] }
        var pairs: [(name: String, value: String)] = []
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = AdminRouter.percentDecoded(String(parts[0])),
                  let value = AdminRouter.percentDecoded(parts.count > 1 ? String(parts[1]) : "") else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }

    /// The value of the first field called `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Whether the connection stays open after the answer: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool {
        let options = headers.filter { $0.name.lowercased() == "connection" }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingSpaces().lowercased() }
        if options.contains("close") { return false }
        return minorVersion >= 1 || options.contains("keep-alive")
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.minorVersion == rhs.minorVersion
            && lhs.headers.elementsEqual(rhs.headers, by: { $0.name == $1.name && $0.value == $1.value })
            && lhs.body == rhs.body
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
