import Chorus

/// The admin API's bearer-token check (RFC 6750), without I/O.
extension AdminResponder {
    /// The realm named in `WWW-Authenticate`.
    static let realm = "chorus"

    /// The 401 answer for a request that does not present this node's token, or nil when it
    /// may go on (or the node asks for no token).
    ///
    /// Rule: with a token set, a request must carry `Authorization: Bearer <token>` (the scheme's
    /// case aside), compared in constant time (`AdminToken.matches`). A missing field, another
    /// scheme or a wrong token is 401 `unauthorized` with `WWW-Authenticate: Bearer realm="chorus"`
    /// (and `error="invalid_token"` for a token that is not this node's); nothing else of the
    /// request is read. The caller leaves `GET /v1/health` open, so a load balancer or a script
    /// can tell the node is up without the token.
    func unauthorized(_ request: HTTPRequest) -> HTTPResponse? {
        guard let token else { return nil }
        let refusal: (message: String, invalidToken: Bool)
        switch Self.bearerCredentials(request.header("authorization")) {
        case .missing:
            refusal = ("this node's admin API asks for a bearer token: send Authorization: Bearer <token> "
                       + "(the token is in the file named by the node's admin_token_file)", false)
        case .otherScheme:
            refusal = ("Authorization must use the Bearer scheme: Authorization: Bearer <token>", false)
        case .token(let presented) where token.matches(presented.utf8):
            return nil
        case .token:
            refusal = ("the bearer token is not this node's", true)
        }
        var response = errorResponse(HTTPError(.unauthorized, refusal.message))
        let challenge = "Bearer realm=\"\(Self.realm)\"" + (refusal.invalidToken ? ", error=\"invalid_token\"" : "")
        response.headers.append(("WWW-Authenticate", challenge))
        return response
    }

    /// What an `Authorization` field holds.
    enum BearerCredentials: Equatable {
        case missing
        case otherScheme
        case token(String)
    }

    /// Reads `Bearer <token>`: the scheme case-insensitive, then one or more spaces.
    static func bearerCredentials(_ field: String?) -> BearerCredentials {
        guard let field, !field.isEmpty else { return .missing }
        let parts = field.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .otherScheme }
        return .token(parts[1].trimmingSpaces())
    }
}
