import Chorus
import Foundation
import Hummingbird

/// `GET /v1/health`: the node answers, and says its name.
public struct HealthResponse: ResponseCodable, Equatable {
    public var status: String
    public var node: String

    public init(status: String, node: String) {
        self.status = status
        self.node = node
    }
}

/// `GET /v1/self`: who this node is and how it was started.
public struct SelfResponse: ResponseCodable, Equatable {
    public var name: String
    public var uid: String
    public var cluster: String
    public var bind: String
    public var admin: String?
    public var profile: String
    public var version: String
}

/// Every error answer of the admin API: `{"error": "not_found", "message": "..."}`.
public struct ErrorResponse: ResponseCodable, Equatable {
    public var error: String
    public var message: String?

    public init(error: String, message: String? = nil) {
        self.error = error
        self.message = message
    }
}

/// One member in `GET /v1/members`. `meta` is the metadata as a UTF-8 string when it is valid
/// UTF-8 (`meta_encoding: "utf8"`), else base64 (`meta_encoding: "base64"`).
public struct MemberResponse: Codable, Equatable, Sendable {
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
            meta = Data(member.meta).base64EncodedString()
            metaEncoding = "base64"
        }
    }
}

/// The body of `POST /v1/join`: node-to-node addresses of members to join through.
public struct JoinRequest: Codable, Equatable, Sendable {
    public var addresses: [String]
    public init(addresses: [String]) { self.addresses = addresses }
}

/// The body of `PUT /v1/debug/faults` and its answer: peers are node names.
public struct FaultsRequest: Codable, Equatable, Sendable {
    public var dropInbound: [String]?
    public var dropOutbound: [String]?
    /// Probability (0 to 1) that an outbound membership message is lost.
    public var loss: Double?
    /// Delay added to outbound membership messages.
    public var delayMs: Int?

    enum CodingKeys: String, CodingKey {
        case dropInbound = "drop_inbound", dropOutbound = "drop_outbound", loss, delayMs = "delay_ms"
    }

    public init(dropInbound: [String]? = nil, dropOutbound: [String]? = nil, loss: Double? = nil, delayMs: Int? = nil) {
        self.dropInbound = dropInbound
        self.dropOutbound = dropOutbound
        self.loss = loss
        self.delayMs = delayMs
    }
}

/// The answer of requests that change state: `{"status": "joining" | "left" | "cleared" | ...}`.
public struct StatusResponse: ResponseCodable, Equatable {
    public var status: String
    public var message: String?
    public init(status: String, message: String? = nil) {
        self.status = status
        self.message = message
    }
}
