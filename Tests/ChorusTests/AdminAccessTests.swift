import Chorus
import ChorusAdmin
import ChorusTestSupport
import Foundation
import Testing

/// The admin API's bearer token, served over real HTTP on a loopback port.
@Suite("Admin API access", .timeLimit(.minutes(1)))
struct AdminAccessTests {
    static let secret = "s3cr3t-T0ken_for.tests~"

    static func token() throws -> AdminToken { try AdminToken(secret) }

    /// Expects a 401 with a JSON `unauthorized` error and a Bearer challenge.
    static func expectUnauthorized(_ answer: RawAnswer, invalidToken: Bool, _ context: String) throws {
        #expect(answer.status == 401, "\(context): \(answer.body)")
        #expect(answer.headers["content-type"] == "application/json; charset=utf-8", "\(context)")
        let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(answer.body.utf8))
        #expect(error.error == "unauthorized", "\(context)")
        let challenge = invalidToken ? "Bearer realm=\"chorus\", error=\"invalid_token\"" : "Bearer realm=\"chorus\""
        #expect(answer.headers["www-authenticate"] == challenge, "\(context)")
        #expect(!answer.body.contains(secret), "the answer never shows the token")
    }

    @Test("given a node with a token, when a request has no Authorization field, then it answers 401 with a JSON error and WWW-Authenticate: Bearer, whatever the path or method")
    func noToken() async throws {
        try await AdminAPITests.withAdmin(token: try Self.token()) { address, node in
            try await node.start()
            for (method, path) in [("GET", "/v1/members"), ("GET", "/metrics"), ("POST", "/v1/leave"),
                                   ("GET", "/v1/nothing"), ("DELETE", "/v1/members"), ("GET", "/v1/health/extra")] {
                let answer = try await AdminAPITests.rawAnswer(address, method, path)
                try Self.expectUnauthorized(answer, invalidToken: false, "\(method) \(path)")
            }
            #expect(await node.members().first?.state.status == .alive, "the refused leave did not happen")
        }
    }

    @Test("given a node with a token, when a request presents another token or another scheme, then it answers 401; a wrong token is named invalid_token")
    func wrongToken() async throws {
        try await AdminAPITests.withAdmin(token: try Self.token()) { address, _ in
            for (field, invalid) in [("Bearer wrong", true), ("Bearer \(Self.secret.dropLast())", true),
                                     ("Bearer \(Self.secret)x", true), ("Bearer \(Self.secret.uppercased())", true),
                                     ("Basic \(Self.secret)", false), ("\(Self.secret)", false), ("Bearer", false)] {
                let answer = try await AdminAPITests.rawAnswer(address, "GET", "/v1/self", headers: ["Authorization: \(field)"])
                try Self.expectUnauthorized(answer, invalidToken: invalid, field)
            }
        }
    }

    @Test("given a node with a token, when a request presents it, then it is served, whatever the case of the scheme")
    func rightToken() async throws {
        try await AdminAPITests.withAdmin(token: try Self.token()) { address, node in
            try await node.start()
            for scheme in ["Bearer", "bearer", "BEARER"] {
                let answer = try await AdminAPITests.rawAnswer(address, "GET", "/v1/members", headers: ["Authorization: \(scheme) \(Self.secret)"])
                #expect(answer.status == 200, "\(scheme): \(answer.body)")
                #expect(answer.body.contains("\"n1\""))
            }
            let missing = try await AdminAPITests.rawAnswer(address, "GET", "/v1/nothing", headers: ["Authorization: Bearer \(Self.secret)"])
            #expect(missing.status == 404, "with the token, an unknown path is 404 again")
        }
    }

    @Test("given a node with a token, when GET /v1/health comes without it, then it answers 200")
    func healthIsOpen() async throws {
        try await AdminAPITests.withAdmin(token: try Self.token()) { address, _ in
            let answer = try await AdminAPITests.rawAnswer(address, "GET", "/v1/health")
            #expect(answer.status == 200)
            #expect(answer.body == #"{"node":"n1","status":"ok"}"#)
            let wrong = try await AdminAPITests.rawAnswer(address, "GET", "/v1/health", headers: ["Authorization: Bearer wrong"])
            #expect(wrong.status == 200, "health does not read the Authorization field")
        }
    }

    @Test("given a node with a token, when a write comes without it, then nothing is written")
    func refusedWriteChangesNothing() async throws {
        try await AdminAPITests.withAdmin(token: try Self.token()) { address, node in
            try await node.start()
            let refused = try await AdminAPITests.rawAnswer(address, "PUT", "/v1/epochs/pulsar-1")
            try Self.expectUnauthorized(refused, invalidToken: false, "PUT /v1/epochs/pulsar-1")
            let put = try await AdminAPITests.rawAnswer(address, "PUT", "/v1/epochs/pulsar-1/orders/p1/exclusive", body: #"{"epoch": 1}"#,
                                                        headers: ["Authorization: Bearer \(Self.secret)"])
            #expect(put.status == 404 && put.body.contains("client_not_started"), "the client was never started: \(put.body)")
        }
    }

    @Test("given a node without a token, when requests carry any Authorization field or none, then they are served")
    func noTokenAsked() async throws {
        try await AdminAPITests.withAdmin { address, _ in
            for fields in [[], ["Authorization: Bearer anything"], ["Authorization: Basic eDp5"]] {
                let answer = try await AdminAPITests.rawAnswer(address, "GET", "/v1/self", headers: fields)
                #expect(answer.status == 200, "\(fields)")
                #expect(answer.headers["www-authenticate"] == nil)
            }
        }
    }
}

/// The token file: read once at start, never shown.
@Suite("Admin token files")
struct AdminTokenTests {
    static func file(_ bytes: [UInt8]) throws -> String {
        let path = try scratchDirectory() + "/admin.token"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test("given a token file ending with a newline, then the token is its text without it, matched only exactly")
    func readsTheToken() throws {
        let token = try AdminToken(file: try Self.file(Array("  abc-123_XYZ.~+/==\n".utf8)))
        #expect(token.matches(Array("abc-123_XYZ.~+/==".utf8)))
        #expect(token.authorization == "Bearer abc-123_XYZ.~+/==")
        for other in ["abc-123_XYZ.~+/=", "abc-123_XYZ.~+/===", "", "ABC-123_XYZ.~+/==", "abc-123_XYZ.~+/=x"] {
            #expect(!token.matches(Array(other.utf8)), "\(other)")
        }
        #expect(!"\(token)".contains("abc") && !String(reflecting: token).contains("abc"), "a description never shows the token")
    }

    @Test("given a token file that is missing, empty, a directory, too large or not a bearer token, then the error names the file and never its content", arguments: [
        ("missing", "cannot read the file"),
        ("empty", "the token is empty"),
        ("blank", "the token is empty"),
        ("directory", "cannot read the file"),
        ("large", "larger than 4096 bytes"),
        ("space", "RFC 6750"),
        ("quote", "RFC 6750"),
        ("padding", "RFC 6750"),
    ])
    func refusesBadFiles(kind: String, problem: String) throws {
        let content: [UInt8] = switch kind {
        case "empty": []
        case "blank": Array(" \n\t\r\n".utf8)
        case "large": Array(repeating: UInt8(ascii: "a"), count: 5000)
        case "space": Array("secret token".utf8)
        case "quote": Array("secret\"token".utf8)
        case "padding": Array("secret=token".utf8)
        default: []
        }
        var path = try Self.file(content)
        if kind == "missing" { path += ".nowhere" }
        if kind == "directory" { path = try scratchDirectory() }
        do {
            _ = try AdminToken(file: path)
            Issue.record("accepted a \(kind) token file")
        } catch {
            #expect(error.field == "admin_token_file")
            #expect(error.problem.hasPrefix(path + ": "), "\(error)")
            #expect(error.problem.contains(problem), "\(error)")
            #expect(!error.problem.contains("secret"), "\(error)")
        }
    }
}
