import Chorus
import ChorusAdmin
import ChorusTestSupport
import Foundation
import Testing

/// Bad input on every route gets a 4xx with a JSON error before anything changes: the holes an
/// audit of the routes (and schemathesis) found, one spec each.
@Suite("Admin API hardening", .timeLimit(.minutes(1)))
struct AdminHardeningTests {
    /// Sends a request and expects a 400 JSON error of `code` whose message says `says`.
    static func expectRefused(_ address: String, _ method: String, _ path: String, body: String = "",
                              code: String = "bad_request", says: String) async throws {
        let answer = try await AdminAPITests.rawAnswer(address, method, path, body: body)
        #expect(answer.status == 400, "\(method) \(path) \(body): \(answer.body)")
        #expect(answer.headers["content-type"] == "application/json; charset=utf-8")
        let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(answer.body.utf8))
        #expect(error.error == code, "\(method) \(path): \(answer.body)")
        #expect(error.message?.contains(says) == true, "\(method) \(path): \(answer.body)")
    }

    @Test("given an operation that takes no body, when a request sends one, then it answers 400 and does nothing; nothing, whitespace or {} still pass")
    func bodiesOnOperationsThatTakeNone() async throws {
        try await AdminAPITests.withAdmin(debugFaults: true) { address, node in
            try await node.start()
            let made = try await AdminAPITests.rawAnswer(address, "POST", "/v1/scopes/s/groups/g/members")
            let recorder = try #require(try JSONParser.parse(made.body)["member"]?.stringValue, "\(made.body)")
            let faults = try await AdminAPITests.rawAnswer(address, "PUT", "/v1/debug/faults", body: #"{"loss": 0.5}"#)
            #expect(faults.status == 200)
            for (method, path, body) in [("POST", "/v1/leave", #"{"addresses": ["127.0.0.1:1"]}"#), ("POST", "/v1/leave", "not json"),
                                         ("DELETE", "/v1/recorders/\(recorder)", #"{"member": "x"}"#),
                                         ("DELETE", "/v1/debug/faults", #"{"loss": 0}"#), ("GET", "/v1/members", "[]"),
                                         ("DELETE", "/v1/epochs/c", #"{"epoch": 1}"#)] {
                try await Self.expectRefused(address, method, path, body: body, says: "this operation takes no body")
            }
            #expect(await node.members().first?.state.status == .alive, "the refused leave did not happen")
            let recorders = try await AdminAPITests.rawAnswer(address, "GET", "/v1/recorders")
            #expect(recorders.body.contains(recorder), "the refused end did not happen: \(recorders.body)")
            let held = try await AdminAPITests.rawAnswer(address, "PUT", "/v1/debug/faults", body: #"{"loss": 0.5}"#)
            #expect(held.body.contains(#""loss":0.5"#), "the refused clear did not happen")
            for body in ["", " \n", "{}"] {
                let served = try await AdminAPITests.rawAnswer(address, "GET", "/v1/self", body: body)
                #expect(served.status == 200, "\(body.debugDescription): \(served.body)")
            }
        }
    }

    @Test("given a query parameter an operation does not take, then it answers 400 naming it and does nothing")
    func unknownQueryParameters() async throws {
        try await AdminAPITests.withAdmin { address, node in
            try await node.start()
            let made = try await AdminAPITests.rawAnswer(address, "POST", "/v1/topics/news/subscribers")
            let recorder = try #require(try JSONParser.parse(made.body)["member"]?.stringValue, "\(made.body)")
            for (method, path, body) in [("GET", "/v1/members?status=alive", ""), ("GET", "/v1/health?verbose=1", ""),
                                         ("POST", "/v1/topics/news/publish?ack=true", #"{"message": 1}"#),
                                         ("POST", "/v1/scopes/s/groups/g/members?member=x", ""),
                                         ("GET", "/v1/scopes/s/groups?limit=1", ""), ("POST", "/v1/join?wait=1", #"{"addresses": ["127.0.0.1:1"]}"#)] {
                try await Self.expectRefused(address, method, path, body: body, says: "unknown query parameter")
            }
            let messages = try await AdminAPITests.rawAnswer(address, "GET", "/v1/recorders/\(recorder)/messages")
            #expect(messages.body.contains(#""received":0"#), "the refused publish did not go out: \(messages.body)")
            #expect(await node.whichGroups(scope: "s") == [], "the refused join made no recorder")
        }
    }

    @Test("given a scope, group or topic name no join could take, when it is read or published to, then it answers 400 invalid_name")
    func namesOutOfBoundsOnReads() async throws {
        try await AdminAPITests.withAdmin { address, node in
            try await node.start()
            let longScope = String(repeating: "s", count: 256), longGroup = String(repeating: "g", count: 1025)
            try await Self.expectRefused(address, "GET", "/v1/scopes/\(longScope)/groups", code: "invalid_name", says: "scope")
            try await Self.expectRefused(address, "GET", "/v1/scopes/s/groups/\(longGroup)", code: "invalid_name", says: "group")
            try await Self.expectRefused(address, "POST", "/v1/topics/\(longGroup)/publish", body: #"{"message": 1}"#,
                                         code: "invalid_name", says: "group")
            let longest = try await AdminAPITests.rawAnswer(address, "GET", "/v1/scopes/\(longScope.dropLast())/groups")
            #expect(longest.status == 200 && longest.body == #"{"groups":[],"local_groups":[]}"#, "255 bytes is a scope name")
        }
    }

    @Test("given a publish whose payload_base64 is null, then it answers 400, as a second payload beside message would be")
    func nullPayload() async throws {
        try await AdminAPITests.withAdmin { address, node in
            try await node.start()
            for body in [#"{"payload_base64": null}"#, #"{"message": 1, "payload_base64": null}"#] {
                try await Self.expectRefused(address, "POST", "/v1/topics/news/publish", body: body, says: "payload_base64: expected a string")
            }
        }
    }
}
