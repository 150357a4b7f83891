import Chorus
import ChorusWire

/// `GET /v1/health`: the node answers, and says its name.
public struct HealthResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var status: String
    public var node: String

    public init(status: String, node: String) {
        self.status = status
        self.node = node
    }

    public var json: JSONValue { ["status": .string(status), "node": .string(node)] }
}

/// `GET /v1/self`: who this node is and how it was started.
public struct SelfResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var name: String
    public var uid: String
    public var cluster: String
    public var bind: String
    public var admin: String?
    public var profile: String
    public var version: String

    public init(name: String, uid: String, cluster: String, bind: String, admin: String?, profile: String, version: String) {
        self.name = name
        self.uid = uid
        self.cluster = cluster
        self.bind = bind
        self.admin = admin
        self.profile = profile
        self.version = version
    }

    public var json: JSONValue {
        .object(dropping: ["name": .string(name), "uid": .string(uid), "cluster": .string(cluster),
                           "bind": .string(bind), "admin": admin.map(JSONValue.string),
                           "profile": .string(profile), "version": .string(version)])
    }
}

/// Every error answer of the admin API: `{"error": "not_found", "message": "..."}`; `error` is
/// the status's reason in snake case, or a code of the domain (`not_joined`, `no_emitters`).
public struct ErrorResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var error: String
    public var message: String?

    public init(error: String, message: String? = nil) {
        self.error = error
        self.message = message
    }

    /// The answer to a refused request: its code as `error`.
    public init(_ error: HTTPError) {
        self.init(error: error.code, message: error.message)
    }

    public var json: JSONValue { .object(dropping: ["error": .string(error), "message": message.map(JSONValue.string)]) }
}

/// One member in `GET /v1/members`. `meta` is the metadata as a UTF-8 string when it is valid
/// UTF-8 (`meta_encoding: "utf8"`), else base64 (`meta_encoding: "base64"`).
public struct MemberResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var name: String
    public var uid: String
    public var address: String
    /// alive, suspect, dead or left.
    public var status: String
    public var incarnation: UInt64
    public var meta: String
    public var metaEncoding: String

    enum CodingKeys: String, CodingKey {
        case name, uid, address, status, incarnation, meta
        case metaEncoding = "meta_encoding"
    }

    public init(_ member: Member) {
        name = member.id.name
        uid = "\(member.id.uid)"
        address = member.address
        status = member.state.status.description
        incarnation = member.state.incarnation.rawValue
        if let text = String(validating: member.meta, as: UTF8.self) {
            meta = text
            metaEncoding = "utf8"
        } else {
            meta = Base64.encode(member.meta)
            metaEncoding = "base64"
        }
    }

    public var json: JSONValue {
        ["name": .string(name), "uid": .string(uid), "address": .string(address), "status": .string(status),
         "incarnation": .unsigned(incarnation), "meta": .string(meta), "meta_encoding": .string(metaEncoding)]
    }

    /// A member as the API writes it (`json`), read back by a client; nil when a field is
    /// missing or of the wrong type.
    public init?(json: JSONValue) {
        guard let name = json["name"]?.stringValue, let uid = json["uid"]?.stringValue,
              let address = json["address"]?.stringValue, let status = json["status"]?.stringValue,
              let incarnation = json["incarnation"]?.uint64Value, let meta = json["meta"]?.stringValue,
              let metaEncoding = json["meta_encoding"]?.stringValue else { return nil }
        self.name = name
        self.uid = uid
        self.address = address
        self.status = status
        self.incarnation = incarnation
        self.meta = meta
        self.metaEncoding = metaEncoding
    }
}

/// The answer of requests that change state: `{"status": "joining" | "left" | "cleared" | ...}`.
public struct StatusResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var status: String
    public var message: String?

    public init(status: String, message: String? = nil) {
        self.status = status
        self.message = message
    }

    public var json: JSONValue { .object(dropping: ["status": .string(status), "message": message.map(JSONValue.string)]) }
}
