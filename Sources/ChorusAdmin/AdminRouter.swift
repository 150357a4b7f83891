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
    /// The groups of a scope, in the cluster and on this node.
    case scopeGroups(scope: String)
    /// The members of a group, in the cluster and on this node.
    case group(scope: String, group: String)
    /// Joins a new recorder, or a member given in the body, to a group.
    case joinGroup(scope: String, group: String)
    /// One leave of a member from a group; `member` is its path segment, not yet parsed.
    case leaveGroup(scope: String, group: String, member: String)
    /// Joins a new recorder, or a member given in the body, to an emitter group.
    case joinEmitters(store: String, subscription: String)
    /// Hands an event to one emitter of a subscription.
    case broadcast(store: String, subscription: String)
    /// Subscribes a new recorder, or a member given in the body, to a topic.
    case subscribe(topic: String)
    /// Publishes a message on a topic.
    case publish(topic: String)
    /// The recorders of this node's admin API.
    case recorders
    /// Ends a recorder.
    case endRecorder(member: String)
    /// What a recorder received.
    case recordedMessages(member: String)
    /// Producer epochs, shape status, process status and LSN trackers.
    case stores(StoresRoute)
    /// The keyring: list, install, use, remove.
    case keys(KeysRoute)
}

extension AdminRoute {
    /// The query parameters the operation takes. Rule: any other is refused with a 400 before
    /// the operation runs (`QueryReader`), so a misspelled parameter never passes silently.
    var queryKeys: Set<String> {
        switch self {
        case .broadcast: ["ack", "timeout_ms", "attempt_timeout_ms"]
        case .recordedMessages: ["after", "limit"]
        case .stores(.itemProcessed), .stores(.processItems), .stores(.processItem), .stores(.resetProcessStatus): ["keeping"]
        case .stores(.replicated): ["lsn"]
        default: []
        }
    }

    /// Whether the operation reads a body. Rule: one that does not refuses any body but an
    /// empty one or `{}` with a 400 before it runs (`EmptyBody`), so that bytes meant for
    /// another operation never go unread into a change (a `POST /v1/leave` with a join's body
    /// does not leave).
    var readsBody: Bool {
        switch self {
        case .join, .setFaults, .joinGroup, .joinEmitters, .broadcast, .subscribe, .publish,
             .stores(.putEpoch), .stores(.addShape), .stores(.setLatestOffset), .stores(.setSnapshotXmin),
             .stores(.itemProcessed), .stores(.awaitLSN), .keys(.install), .keys(.use), .keys(.remove):
            true
        default:
            false
        }
    }
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
        ("GET", "/v1/keys", { _ in .keys(.list) }),
        ("POST", "/v1/keys/install", { _ in .keys(.install) }),
        ("POST", "/v1/keys/use", { _ in .keys(.use) }),
        ("POST", "/v1/keys/remove", { _ in .keys(.remove) }),
        ("GET", "/v1/scopes/{scope}/groups", { .scopeGroups(scope: $0["scope"]!) }),
        ("GET", "/v1/scopes/{scope}/groups/{group}", { .group(scope: $0["scope"]!, group: $0["group"]!) }),
        ("POST", "/v1/scopes/{scope}/groups/{group}/members", { .joinGroup(scope: $0["scope"]!, group: $0["group"]!) }),
        ("DELETE", "/v1/scopes/{scope}/groups/{group}/members/{member}",
         { .leaveGroup(scope: $0["scope"]!, group: $0["group"]!, member: $0["member"]!) }),
        ("POST", "/v1/emitters/{store}/{subscription}/members",
         { .joinEmitters(store: $0["store"]!, subscription: $0["subscription"]!) }),
        ("POST", "/v1/emitters/{store}/{subscription}/broadcast",
         { .broadcast(store: $0["store"]!, subscription: $0["subscription"]!) }),
        ("POST", "/v1/topics/{topic}/subscribers", { .subscribe(topic: $0["topic"]!) }),
        ("POST", "/v1/topics/{topic}/publish", { .publish(topic: $0["topic"]!) }),
        ("GET", "/v1/recorders", { _ in .recorders }),
        ("DELETE", "/v1/recorders/{member}", { .endRecorder(member: $0["member"]!) }),
        ("GET", "/v1/recorders/{member}/messages", { .recordedMessages(member: $0["member"]!) }),
        ("PUT", "/v1/epochs/{client}", { .stores(.initClient(client: $0["client"]!)) }),
        ("DELETE", "/v1/epochs/{client}", { .stores(.removeClient(client: $0["client"]!)) }),
        ("PUT", "/v1/epochs/{client}/{topic}/{producer}/{access_mode}",
         { .stores(.putEpoch(client: $0["client"]!, topic: $0["topic"]!, producer: $0["producer"]!, mode: $0["access_mode"]!)) }),
        ("GET", "/v1/epochs/{client}/{topic}/{producer}/{access_mode}",
         { .stores(.getEpoch(client: $0["client"]!, topic: $0["topic"]!, producer: $0["producer"]!, mode: $0["access_mode"]!)) }),
        ("DELETE", "/v1/epochs/{client}/{topic}/{producer}/{access_mode}",
         { .stores(.deleteEpoch(client: $0["client"]!, topic: $0["topic"]!, producer: $0["producer"]!, mode: $0["access_mode"]!)) }),
        ("POST", "/v1/shapes/{stack}", { .stores(.addShape(stack: $0["stack"]!)) }),
        ("GET", "/v1/shapes/{stack}", { .stores(.listShapes(stack: $0["stack"]!)) }),
        ("GET", "/v1/shapes/{stack}/{handle}", { .stores(.shape(stack: $0["stack"]!, handle: $0["handle"]!)) }),
        ("DELETE", "/v1/shapes/{stack}/{handle}", { .stores(.removeShape(stack: $0["stack"]!, handle: $0["handle"]!)) }),
        ("PUT", "/v1/shapes/{stack}/{handle}/latest_offset", { .stores(.setLatestOffset(stack: $0["stack"]!, handle: $0["handle"]!)) }),
        ("PUT", "/v1/shapes/{stack}/{handle}/snapshot_xmin", { .stores(.setSnapshotXmin(stack: $0["stack"]!, handle: $0["handle"]!)) }),
        ("POST", "/v1/shapes/{stack}/{handle}/snapshot_started",
         { .stores(.markSnapshotStarted(stack: $0["stack"]!, handle: $0["handle"]!)) }),
        ("POST", "/v1/process-status/{name}/items", { .stores(.itemProcessed(name: $0["name"]!)) }),
        ("GET", "/v1/process-status/{name}/items", { .stores(.processItems(name: $0["name"]!)) }),
        ("DELETE", "/v1/process-status/{name}/items", { .stores(.resetProcessStatus(name: $0["name"]!)) }),
        ("GET", "/v1/process-status/{name}/items/{entity}", { .stores(.processItem(name: $0["name"]!, entity: $0["entity"]!)) }),
        ("GET", "/v1/lsn/{tracker}", { .stores(.lastReplay(tracker: $0["tracker"]!)) }),
        ("GET", "/v1/lsn/{tracker}/replicated", { .stores(.replicated(tracker: $0["tracker"]!)) }),
        ("POST", "/v1/lsn/{tracker}/await", { .stores(.awaitLSN(tracker: $0["tracker"]!)) }),
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

    /// `text` as one path segment (or query value): every byte but RFC 3986's unreserved
    /// characters (letters, digits, `-`, `.`, `_`, `~`) written `%XX`; `percentDecoded` undoes it.
    /// The segments `.` and `..` are written `%2E` and `%2E%2E`, so that no client takes them for
    /// dot segments and rewrites the path.
    public static func percentEncoded(_ text: String) -> String {
        let dotSegment = text == "." || text == ".."
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: ".") where !dotSegment,
                 UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                output += "%"
                output.unicodeScalars.append(digits[Int(byte >> 4)])
                output.unicodeScalars.append(digits[Int(byte & 0x0F)])
            }
        }
        return output
    }

}
