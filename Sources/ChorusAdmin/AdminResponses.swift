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
