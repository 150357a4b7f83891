import Chorus
import ChorusSeal

/// The body of `POST /v1/keys/install|use|remove`: one key in base64.
public struct KeyRequest: Codable, Equatable, Sendable, JSONRepresentable {
    public var key: String
    public init(key: String) { self.key = key }

    /// Reads a body: a JSON object with `key`, a string (400 otherwise).
    public init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["key"])
        key = try object.string("key", required: true) ?? ""
    }

    /// The key it holds; 400 when it is not one.
    func clusterKey() throws(HTTPError) -> ClusterKey {
        do {
            return try ClusterKey(base64: key)
        } catch {
            throw HTTPError(.badRequest, code: "invalid_key", "key: \(error)")
        }
    }

    public var json: JSONValue { ["key": .string(key)] }
}

/// The answer of the keys operations: the node's keyring, by key ids (keys never leave a node
/// through the API); `changed` says whether the operation changed it.
public struct KeyringResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var insecure: Bool
    public var primary: String?
    public var keys: [String]
    public var changed: Bool?

    public init(_ status: KeyringStatus, changed: Bool? = nil) {
        insecure = status.insecure
        primary = status.primary?.description
        keys = status.keys.map(\.description)
        self.changed = changed
    }

    public var json: JSONValue {
        .object(dropping: ["insecure": .bool(insecure), "primary": primary.map(JSONValue.string) ?? .null,
                           "keys": .array(keys.map(JSONValue.string)), "changed": changed.map(JSONValue.bool)])
    }
}

/// The keys operations of the admin API (`chorus keys`).
public enum KeysRoute: Sendable, Equatable {
    case list, install, use, remove
}

extension AdminResponder {
    func keys(_ route: KeysRoute, _ request: HTTPRequest) throws(HTTPError) -> HTTPHandling {
        let node = self.node
        if route == .list { return .now(.json(KeyringResponse(node.keyringStatus()).json)) }
        let key = try KeyRequest(body: request.body).clusterKey()
        return .later {
            do throws(KeyringError) {
                let changed: Bool
                switch route {
                case .install: changed = try await node.installKey(key)
                case .use: changed = try await node.useKey(key)
                case .remove:
                    try await node.removeKey(key)
                    changed = true
                case .list: changed = false
                }
                return .json(KeyringResponse(node.keyringStatus(), changed: changed).json)
            } catch {
                return errorResponse(Self.httpError(error))
            }
        }
    }

    static func httpError(_ error: KeyringError) -> HTTPError {
        switch error {
        case .invalidKey, .invalidFile: HTTPError(.badRequest, code: "invalid_key", "\(error)")
        case .unknownKey: HTTPError(.notFound, code: "unknown_key", "\(error)")
        case .removingPrimary: HTTPError(.conflict, code: "primary_key", "\(error)")
        case .insecure: HTTPError(.conflict, code: "insecure", "\(error)")
        case .notSaved: HTTPError(.internalServerError, code: "not_saved", "\(error)")
        }
    }
}
