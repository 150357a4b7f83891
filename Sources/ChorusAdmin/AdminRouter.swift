/// An operation of the admin API, with what its path carried.
public enum AdminRoute: Sendable, Equatable {
    case health
    case selfDescription
    case members
    /// One member; the name is percent-decoded from its path segment.
    case member(name: String)
    case join
    case leave
    case setFaults
    case clearFaults
    case metrics
}

/// Maps a method and path to an operation of the admin API, without I/O. Paths are matched
/// segment by segment (empty segments ignored, the query left out); a `{name}` segment takes any
/// percent-decoded segment. A known path asked with another method is `405` with the methods that
/// it has; an unknown path is `404`.
public enum AdminRouter {
    /// Every operation served: method, path pattern (as in docs/openapi.yaml), and its route.
    static let table: [(method: String, path: String, route: @Sendable ([String: String]) -> AdminRoute)] = [
        ("GET", "/v1/health", { _ in .health }),
        ("GET", "/v1/self", { _ in .selfDescription }),
        ("GET", "/v1/members", { _ in .members }),
        ("GET", "/v1/members/{name}", { .member(name: $0["name"]!) }),
        ("POST", "/v1/join", { _ in .join }),
        ("POST", "/v1/leave", { _ in .leave }),
        ("PUT", "/v1/debug/faults", { _ in .setFaults }),
        ("DELETE", "/v1/debug/faults", { _ in .clearFaults }),
        ("GET", "/metrics", { _ in .metrics }),
    ]

    /// Every operation served, as method and path pattern.
    public static var routes: [(method: String, path: String)] { table.map { ($0.method, $0.path) } }

    /// Why a request has no route.
    public enum Failure: Error, Sendable, Equatable {
        /// No operation has this path.
        case notFound(path: String)
        /// The path exists with these other methods (the `Allow` field).
        case methodNotAllowed(allowed: [String])
        /// A path segment is not valid percent-encoded UTF-8.
        case badPath(String)
    }

    /// The operation that `method` on `path` asks for.
    public static func route(method: String, path: String) -> Result<AdminRoute, Failure> {
        let segments = path.split(separator: "/").map(String.init)
        var allowed: [String] = []
        for entry in table {
            let pattern = entry.path.split(separator: "/")
            guard pattern.count == segments.count else { continue }
            var parameters: [String: String] = [:]
            var matches = true
            for (expected, actual) in zip(pattern, segments) {
                if expected.hasPrefix("{") && expected.hasSuffix("}") {
                    guard let decoded = percentDecoded(actual) else {
                        return .failure(.badPath("path segment \"\(actual)\" is not valid percent-encoded UTF-8"))
                    }
                    parameters[String(expected.dropFirst().dropLast())] = decoded
                } else if expected != actual {
                    matches = false
                    break
                }
            }
            guard matches else { continue }
            if entry.method == method { return .success(entry.route(parameters)) }
            allowed.append(entry.method)
        }
        return .failure(allowed.isEmpty ? .notFound(path: path) : .methodNotAllowed(allowed: allowed))
    }

    /// `%XX` sequences replaced by their bytes; nil for a bad sequence or bytes that are not UTF-8.
    public static func percentDecoded(_ segment: String) -> String? {
        var bytes: [UInt8] = []
        var input = segment.utf8.makeIterator()
        while let byte = input.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = input.next().flatMap(ASCII.hexValue), let low = input.next().flatMap(ASCII.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

}
