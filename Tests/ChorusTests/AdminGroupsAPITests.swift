import Chorus
@testable import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import Logging
import Prometheus
import Testing

/// The admin API's groups, emitter broadcast, topics and recorders, over real HTTP, with nodes
/// in this process.
@Suite("Admin API: groups, emitters, topics, recorders", .serialized, .timeLimit(.minutes(2)))
struct AdminGroupsAPITests {
    static let eventually = MembershipAPITests.eventually

    /// An answer, its body parsed as JSON (null when it is not JSON).
    struct Reply {
        var status: Int
        var json: JSONValue
        var body: String

        var error: String? { json["error"]?.stringValue }
        var member: String? { json["member"]?.stringValue }
        func strings(_ key: String) -> [String]? { json[key]?.arrayValue?.compactMap(\.stringValue) }
    }

    /// Given `count` started nodes of one cluster, each with an admin server on a free loopback
    /// port, runs `body` with their admin addresses.
    static func withCluster(_ count: Int, limits: Recorders.Limits = Recorders.Limits(),
                            _ body: ([String], [ClusterNode], [AdminServer]) async throws -> Void) async throws {
        let nodes = try await GroupsAPITests.cluster(count)
        let ports = try FreePorts.take(count)
        var servers: [AdminServer] = []
        func stopAll() async {
            for server in servers { await server.stop() }
            for node in nodes.reversed() { await node.stop() }
        }
        do {
            for (node, port) in zip(nodes, ports) {
                let server = AdminServer(node: node, address: try SocketAddress(host: "127.0.0.1", port: port),
                                         metrics: PrometheusCollectorRegistry(), logger: Logger(label: "test"), recorderLimits: limits)
                try await server.start()
                servers.append(server)
            }
            try await body(ports.map { "127.0.0.1:\($0)" }, nodes, servers)
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }

    static func call(_ admin: String, _ method: String, _ path: String, _ body: String? = nil) async throws -> Reply {
        let answer = try #require(await AdminClient.send(admin, method, path, body: body), "\(method) \(path): no answer")
        return Reply(status: answer.status, json: (try? JSONParser.parse(answer.body)) ?? .null, body: answer.body)
    }

    /// The messages a recorder kept.
    static func messages(_ admin: String, _ member: String, query: String = "") async throws -> [JSONValue] {
        try await call(admin, "GET", "/v1/recorders/\(member)/messages\(query)").json["messages"]?.arrayValue ?? []
    }

    static let event = #"{"event_id": "e-1", "event_type": "OrderPlaced", "stream_id": "order-1", "version": 3, "data": {"total": 12.5, "items": ["a"]}, "tags": ["eu"], "timestamp": 1700000000000}"#

    // MARK: Groups

    @Test("given a node, when POST .../members has no body, then a recorder is made and joined (201); with {member} it joins again (200) and is listed twice, locally too")
    func joinRecorderAndJoinAgain() async throws {
        try await Self.withCluster(1) { admins, nodes, _ in
            let admin = admins[0]
            // When
            let made = try await Self.call(admin, "POST", "/v1/scopes/jobs/groups/resize/members")
            // Then
            #expect(made.status == 201, "\(made.body)")
            let id = try #require(made.member)
            #expect(GroupMemberID(id)?.node == nodes[0].uid)
            #expect(made.json["scope"] == "jobs" && made.json["group"] == "resize")
            let again = try await Self.call(admin, "POST", "/v1/scopes/jobs/groups/resize/members", #"{"member": "\#(id)"}"#)
            #expect(again.status == 200 && again.member == id, "\(again.body)")
            let group = try await Self.call(admin, "GET", "/v1/scopes/jobs/groups/resize")
            #expect(group.status == 200)
            #expect(group.strings("members") == [id, id] && group.strings("local_members") == [id, id], "\(group.body)")
            let scope = try await Self.call(admin, "GET", "/v1/scopes/jobs/groups")
            #expect(scope.strings("groups") == ["resize"] && scope.strings("local_groups") == ["resize"], "\(scope.body)")
            #expect(await nodes[0].members(scope: "jobs", group: "resize").map(\.description) == [id, id])
            let empty = try await Self.call(admin, "GET", "/v1/scopes/nothing/groups/none")
            #expect(empty.status == 200 && empty.strings("members") == [] && empty.strings("local_members") == [])
            let recorders = try await Self.call(admin, "GET", "/v1/recorders")
            #expect(recorders.json["recorders"]?.arrayValue?.compactMap { $0["member"]?.stringValue } == [id], "\(recorders.body)")
        }
    }

    @Test("given a recorder joined twice, when DELETE .../members/{id} is sent three times, then it leaves once each time and the third answers 404 not_joined")
    func leaveOnceEachTime() async throws {
        try await Self.withCluster(1) { admins, nodes, _ in
            let admin = admins[0]
            let id = try #require(try await Self.call(admin, "POST", "/v1/scopes/s/groups/g/members").member)
            _ = try await Self.call(admin, "POST", "/v1/scopes/s/groups/g/members", #"{"member": "\#(id)"}"#)
            // When
            let first = try await Self.call(admin, "DELETE", "/v1/scopes/s/groups/g/members/\(id)")
            // Then
            #expect(first.status == 200 && first.member == id, "\(first.body)")
            #expect(await nodes[0].members(scope: "s", group: "g").map(\.description) == [id])
            let second = try await Self.call(admin, "DELETE", "/v1/scopes/s/groups/g/members/\(id)")
            #expect(second.status == 200)
            #expect(await nodes[0].whichGroups(scope: "s") == [])
            let third = try await Self.call(admin, "DELETE", "/v1/scopes/s/groups/g/members/\(id)")
            #expect(third.status == 404 && third.error == "not_joined", "\(third.body)")
            #expect(third.json["message"]?.stringValue?.contains("not in group \"g\" of scope \"s\"") == true, "\(third.body)")
        }
    }

    @Test("given bad ids, bodies, names and queries, then the routes answer a 4xx JSON error naming the fault and nothing changes")
    func refusalsChangeNothing() async throws {
        try await Self.withCluster(1) { admins, nodes, _ in
            let admin = admins[0]
            let stranger = GroupMemberID(node: NodeUID(rawValue: 0x1234), serial: 1)
            let unknownLocal = GroupMemberID(node: nodes[0].uid, serial: 999_999)
            let longScope = String(repeating: "s", count: 256)
            let cases: [(method: String, path: String, body: String?, status: Int, error: String, says: String)] = [
                ("POST", "/v1/scopes/s/groups/g/members", #"{"member": "nope"}"#, 400, "bad_request", "member: \"nope\" is not a member id"),
                ("POST", "/v1/scopes/s/groups/g/members", #"{"member": 7}"#, 400, "bad_request", "member: expected a string"),
                ("POST", "/v1/scopes/s/groups/g/members", #"{"membr": "x"}"#, 400, "bad_request", "unknown field \"membr\""),
                ("POST", "/v1/scopes/s/groups/g/members", "[1]", 400, "bad_request", "not a JSON object"),
                ("POST", "/v1/scopes/s/groups/g/members", "{", 400, "bad_request", "not a JSON object"),
                ("POST", "/v1/scopes/\(longScope)/groups/g/members", nil, 400, "invalid_name", "invalid scope name"),
                ("POST", "/v1/scopes/s/groups/g/members", #"{"member": "\#(stranger)"}"#, 409, "not_local", "belongs to another node"),
                ("POST", "/v1/scopes/s/groups/g/members", #"{"member": "\#(unknownLocal)"}"#, 404, "member_ended", "not a live member"),
                ("DELETE", "/v1/scopes/s/groups/g/members/nope", nil, 400, "bad_request", "member: \"nope\""),
                ("DELETE", "/v1/scopes/s/groups/g/members/\(stranger)", nil, 409, "not_local", "another node"),
                ("DELETE", "/v1/scopes/s/groups/g/members/\(unknownLocal)", nil, 404, "not_joined", "not in group"),
                ("DELETE", "/v1/recorders/\(unknownLocal)", nil, 404, "unknown_recorder", "no recorder"),
                ("DELETE", "/v1/recorders/x.1", nil, 400, "bad_request", "not a member id"),
                ("GET", "/v1/recorders/\(unknownLocal)/messages", nil, 404, "unknown_recorder", "no recorder"),
                ("GET", "/v1/recorders/\(unknownLocal)/messages?after=x", nil, 400, "bad_request", "after: expected a whole number"),
                ("GET", "/v1/recorders/\(unknownLocal)/messages?limit=0", nil, 400, "bad_request", "limit: expected a whole number from 1"),
                ("GET", "/v1/recorders/\(unknownLocal)/messages?page=2", nil, 400, "bad_request", "unknown query parameter \"page\""),
                ("GET", "/v1/scopes/s/groups/g/members", nil, 405, "method_not_allowed", "answers POST"),
                ("GET", "/v1/scopes/%FF/groups", nil, 400, "bad_request", "percent-encoded"),
                ("POST", "/v1/topics/t/subscribers", #"{"member": ""}"#, 400, "bad_request", "not a member id"),
                ("POST", "/v1/emitters/st/sub/members", #"{"member": null, "x": 1}"#, 400, "bad_request", "unknown field \"x\""),
            ]
            for item in cases {
                // When
                let reply = try await Self.call(admin, item.method, item.path, item.body)
                // Then
                #expect(reply.status == item.status, "\(item.method) \(item.path): \(reply.body)")
                #expect(reply.error == item.error, "\(item.method) \(item.path): \(reply.body)")
                #expect(reply.json["message"]?.stringValue?.contains(item.says) == true, "\(item.method) \(item.path): \(reply.body)")
            }
            let bigBody = try RawSocket(try SocketAddress(admin))
            bigBody.send("POST /v1/emitters/s/x/broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n")
            let tooLarge = RawAnswer.all(in: await bigBody.readToEnd().text).first
            #expect(tooLarge?.status == 413 && tooLarge?.body.contains("content_too_large") == true, "\(String(describing: tooLarge))")
            #expect(await nodes[0].whichGroups(scope: "s") == [])
            #expect(await nodes[0].whichGroups(scope: longScope) == [])
            let recorders = try await Self.call(admin, "GET", "/v1/recorders")
            #expect(recorders.json == ["recorders": []], "a recorder whose join was refused is ended: \(recorders.body)")
        }
    }

    @Test("given scope and group names percent-encoded in the path, then they are decoded; a name with a slash is one segment")
    func namesArePercentDecoded() async throws {
        try await Self.withCluster(1) { admins, nodes, _ in
            let admin = admins[0]
            let made = try await Self.call(admin, "POST", "/v1/scopes/a%2Fb/groups/x%20y%3Az/members")
            #expect(made.status == 201 && made.json["scope"] == "a/b" && made.json["group"] == "x y:z", "\(made.body)")
            #expect(await nodes[0].whichGroups(scope: "a/b") == ["x y:z"])
            let scope = try await Self.call(admin, "GET", "/v1/scopes/a%2Fb/groups")
            #expect(scope.strings("groups") == ["x y:z"])
            #expect(AdminRouter.percentEncoded("a/b c:é") == "a%2Fb%20c%3A%C3%A9")
            #expect(AdminRouter.percentEncoded("..") == "%2E%2E" && AdminRouter.percentEncoded("a.b") == "a.b")
            for text in ["a/b c:é", "..", "$all", "100%"] {
                #expect(AdminRouter.percentDecoded(AdminRouter.percentEncoded(text)) == text)
            }
        }
    }

    @Test("given a limit of 2 recorders, when a third is asked for, then 409 too_many_recorders and nothing joins; ending one makes room")
    func recorderLimit() async throws {
        try await Self.withCluster(1, limits: Recorders.Limits(maxRecorders: 2)) { admins, nodes, _ in
            let admin = admins[0]
            let first = try #require(try await Self.call(admin, "POST", "/v1/scopes/s/groups/a/members").member)
            _ = try await Self.call(admin, "POST", "/v1/scopes/s/groups/b/members")
            // When
            let third = try await Self.call(admin, "POST", "/v1/scopes/s/groups/c/members")
            // Then
            #expect(third.status == 409 && third.error == "too_many_recorders", "\(third.body)")
            #expect(await nodes[0].whichGroups(scope: "s") == ["a", "b"])
            #expect(try await Self.call(admin, "DELETE", "/v1/recorders/\(first)").status == 200)
            #expect(try await Self.call(admin, "POST", "/v1/scopes/s/groups/c/members").status == 201)
        }
    }

    @Test("given a recorder in two groups, when DELETE /v1/recorders/{id}, then it leaves both everywhere, is no longer listed and its messages are 404")
    func endRecorder() async throws {
        try await Self.withCluster(2) { admins, nodes, _ in
            let (a, b) = (admins[0], nodes[1])
            let id = try #require(try await Self.call(a, "POST", "/v1/scopes/s/groups/g1/members").member)
            _ = try await Self.call(a, "POST", "/v1/scopes/s/groups/g2/members", #"{"member": "\#(id)"}"#)
            #expect(await Self.eventually(.seconds(5)) { await b.whichGroups(scope: "s") == ["g1", "g2"] })
            // When
            let ended = try await Self.call(a, "DELETE", "/v1/recorders/\(id)")
            // Then
            #expect(ended.status == 200 && ended.json["status"] == "ended", "\(ended.body)")
            #expect(await Self.eventually(.seconds(5)) { await b.whichGroups(scope: "s") == [] })
            #expect(await nodes[0].whichGroups(scope: "s") == [])
            #expect(try await Self.call(a, "GET", "/v1/recorders").json == ["recorders": []])
            #expect(try await Self.call(a, "GET", "/v1/recorders/\(id)/messages").error == "unknown_recorder")
            let rejoin = try await Self.call(a, "POST", "/v1/scopes/s/groups/g1/members", #"{"member": "\#(id)"}"#)
            #expect(rejoin.status == 404 && rejoin.error == "member_ended", "\(rejoin.body)")
        }
    }

    @Test("given a member of node B, when node A's API joins it, then 409 not_local; B's API joins it and A sees it remotely")
    func onlyLocalMembersJoin() async throws {
        try await Self.withCluster(2) { admins, nodes, _ in
            let id = try #require(try await Self.call(admins[1], "POST", "/v1/scopes/s/groups/g/members").member)
            // When
            let refused = try await Self.call(admins[0], "POST", "/v1/scopes/s/groups/g/members", #"{"member": "\#(id)"}"#)
            // Then
            #expect(refused.status == 409 && refused.error == "not_local", "\(refused.body)")
            #expect(await Self.eventually(.seconds(5)) {
                let group = try? await Self.call(admins[0], "GET", "/v1/scopes/s/groups/g")
                return group?.strings("members") == [id] && group?.strings("local_members") == []
            })
            let scope = try await Self.call(admins[0], "GET", "/v1/scopes/s/groups")
            #expect(scope.strings("groups") == ["g"] && scope.strings("local_groups") == [], "\(scope.body)")
            #expect(await nodes[1].localMembers(scope: "s", group: "g").map(\.description) == [id])
        }
    }

    @Test("given a stopped node, then a join through its API answers 503 node_stopped")
    func stoppedNode() async throws {
        try await Self.withCluster(1) { admins, nodes, _ in
            await nodes[0].stop()
            let reply = try await Self.call(admins[0], "POST", "/v1/scopes/s/groups/g/members")
            #expect(reply.status == 503 && reply.error == "node_stopped", "\(reply.body)")
            #expect(try await Self.call(admins[0], "GET", "/v1/recorders").json == ["recorders": []])
        }
    }

    // MARK: Emitters

    @Test("given no emitter, when an event is broadcast in either mode, then 409 no_emitters")
    func noEmitters() async throws {
        try await Self.withCluster(1) { admins, _, _ in
            for query in ["", "?ack=true"] {
                let reply = try await Self.call(admins[0], "POST", "/v1/emitters/orders/billing/broadcast\(query)", Self.event)
                #expect(reply.status == 409 && reply.error == "no_emitters", "\(query): \(reply.body)")
            }
        }
    }

    @Test("given two nodes, when A's API broadcasts, then a recording emitter on B gets the event with path remote, and one on A with path local, fields intact")
    func broadcastRemoteAndLocal() async throws {
        try await Self.withCluster(2) { admins, nodes, _ in
            let (a, b) = (admins[0], admins[1])
            let onB = try await Self.call(b, "POST", "/v1/emitters/orders/billing/members")
            #expect(onB.status == 201 && onB.json["scope"] == "emitters", "\(onB.body)")
            #expect(onB.json["group"]?.stringValue == EmitterNames.group(store: "orders", subscription: "billing"))
            let remote = try #require(onB.member)
            #expect(await Self.eventually(.seconds(5)) { await nodes[0].emitters(store: "orders", subscription: "billing").count == 1 })
            // When
            let first = try await Self.call(a, "POST", "/v1/emitters/orders/billing/broadcast", Self.event)
            // Then
            #expect(first.status == 200 && first.json == ["member": .string(remote), "path": "remote"], "\(first.body)")
            #expect(await Self.eventually(.seconds(5)) { (try? await Self.messages(b, remote).count) == 1 })
            let got = try #require(try await Self.messages(b, remote).first)
            #expect(got["kind"] == "event" && got["path"] == "remote" && got["seq"] == 1, "\(got.text)")
            #expect(got["from_node"]?.stringValue == "\(nodes[0].uid)" && got["from"] == nil, "\(got.text)")
            let event = try #require(got["event"])
            #expect(event["event_id"] == "e-1" && event["event_type"] == "OrderPlaced" && event["stream_id"] == "order-1")
            #expect(event["version"] == 3 && event["tags"] == ["eu"] && event["timestamp"] == 1_700_000_000_000)
            #expect(event["epoch_us"] == 1_700_000_000_000_000 && event["data_content_type"] == "application/json")
            #expect(event["data"] == ["items": ["a"], "total": 12.5], "\(event.text)")
            #expect(event["data_base64"]?.stringValue == "eyJpdGVtcyI6WyJhIl0sInRvdGFsIjoxMi41fQ==", "compact JSON text: \(event.text)")
            #expect(event["metadata_base64"] == "" && event["metadata"] == nil)

            // When: the only emitter is on A
            #expect(try await Self.call(b, "DELETE", "/v1/recorders/\(remote)").status == 200)
            let local = try #require(try await Self.call(a, "POST", "/v1/emitters/orders/billing/members").member)
            #expect(await Self.eventually(.seconds(5)) {
                await nodes[0].emitters(store: "orders", subscription: "billing").map(\.description) == [local]
            })
            let second = try await Self.call(a, "POST", "/v1/emitters/orders/billing/broadcast", Self.event)
            // Then
            #expect(second.status == 200 && second.json == ["member": .string(local), "path": "local"], "\(second.body)")
            let mine = try await Self.messages(a, local)
            #expect(mine.count == 1 && mine.first?["path"] == "local" && mine.first?["event"]?["event_id"] == "e-1", "\(mine)")
        }
    }

    @Test("given a remote emitter, when ?ack=true, then the answer comes once B's node took it, and B's recorder has the event once")
    func acknowledgedBroadcast() async throws {
        try await Self.withCluster(2) { admins, nodes, _ in
            let (a, b) = (admins[0], admins[1])
            let remote = try #require(try await Self.call(b, "POST", "/v1/emitters/s/x/members").member)
            #expect(await Self.eventually(.seconds(5)) { await nodes[0].emitters(store: "s", subscription: "x").count == 1 })
            // When
            let acked = try await Self.call(a, "POST", "/v1/emitters/s/x/broadcast?ack=true&timeout_ms=5000&attempt_timeout_ms=1000", Self.event)
            // Then
            #expect(acked.status == 200 && acked.json == ["member": .string(remote), "path": "remote"], "\(acked.body)")
            let messages = try await Self.messages(b, remote)
            #expect(messages.count == 1 && messages.first?["path"] == "remote", "acked means B's member has it already: \(messages)")
            let defaults = try await Self.call(a, "POST", "/v1/emitters/s/x/broadcast?ack=true", Self.event)
            #expect(defaults.status == 200, "\(defaults.body)")
            #expect(try await Self.messages(b, remote).count == 1, "the same event id again is acked, not delivered twice")
        }
    }

    @Test("given bad events and broadcast queries, then 400 naming the field; given only the required fields, the rest takes its defaults")
    func eventValidationAndDefaults() async throws {
        try await Self.withCluster(1) { admins, nodes, _ in
            let admin = admins[0]
            let recorder = try #require(try await Self.call(admin, "POST", "/v1/emitters/s/x/members").member)
            let path = "/v1/emitters/s/x/broadcast"
            let long = String(repeating: "i", count: 1025)
            let cases: [(query: String, body: String, says: String)] = [
                ("", #"{"event_type": "T", "stream_id": "s"}"#, "event_id: missing"),
                ("", #"{"event_id": "", "event_type": "T", "stream_id": "s"}"#, "event_id: must not be empty"),
                ("", #"{"event_id": 1, "event_type": "T", "stream_id": "s"}"#, "event_id: expected a string"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "version": -1}"#, "version: expected an integer from 0"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "version": 1.5}"#, "version: expected an integer"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "data": 1, "data_base64": "AA=="}"#, "give one or the other"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "data_base64": "A"}"#, "data_base64: not standard base64"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "metadata_base64": "AB=="}"#, "metadata_base64: not standard base64"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "tags": "eu"}"#, "tags: expected an array of strings"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "tags": ["eu", 1]}"#, "tags[1]: expected a string"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "timestamp": "now"}"#, "timestamp: expected an integer"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "timestamp": 9223372036854775807}"#, "timestamp: 9223372036854775807 ms is out of range"),
                ("", #"{"event_id": "e", "event_type": "T", "stream_id": "s", "eventid": "e"}"#, "unknown field \"eventid\""),
                ("", #"{"event_id": "\#(long)", "event_type": "T", "stream_id": "s"}"#, "breaks a wire limit"),
                ("", "event", "not a JSON object"),
                ("?ack=yes", Self.event, "ack: expected true or false"),
                ("?timeout_ms=100", Self.event, "acknowledged broadcasts only"),
                ("?ack=true&timeout_ms=0", Self.event, "timeout_ms: expected a whole number from 1 to 60000"),
                ("?ack=true&ack=true", Self.event, "given twice"),
                ("?acked=true", Self.event, "unknown query parameter \"acked\""),
            ]
            for item in cases {
                let reply = try await Self.call(admin, "POST", path + item.query, item.body)
                #expect(reply.status == 400 && reply.error == "bad_request", "\(item.body): \(reply.body)")
                #expect(reply.json["message"]?.stringValue?.contains(item.says) == true, "\(item.says): \(reply.body)")
            }
            #expect(try await Self.messages(admin, recorder).isEmpty, "no refused event went out")
            // When: only the required fields
            let sent = try await Self.call(admin, "POST", path, #"{"event_id": "e", "event_type": "T", "stream_id": "s", "data_base64": "AAEC"}"#)
            // Then
            #expect(sent.status == 200, "\(sent.body)")
            let event = try #require(try await Self.messages(admin, recorder).first?["event"])
            #expect(event["version"] == 0 && event["tags"] == .null && event["data_base64"] == "AAEC" && event["data"] == nil, "\(event.text)")
            #expect(event["data_content_type"] == "application/octet-stream" && event["metadata_content_type"] == "application/json")
            let timestamp = try #require(event["timestamp"]?.intValue)
            let micros = try #require(event["epoch_us"]?.intValue)
            #expect(timestamp > 1_700_000_000_000 && micros / 1000 == timestamp, "the node's clock: \(event.text)")
            let received = try #require(await nodes[0].emitters(store: "s", subscription: "x").first)
            #expect(received.description == recorder)
        }
    }

    // MARK: Topics and recorders

    @Test("given subscribers on A and B, when A's API publishes, then {nodes: 2} and each recorder has the message once, local on A and remote on B")
    func publishReachesSubscribers() async throws {
        try await Self.withCluster(2) { admins, nodes, _ in
            let (a, b) = (admins[0], admins[1])
            let onA = try await Self.call(a, "POST", "/v1/topics/news/subscribers")
            #expect(onA.status == 201 && onA.json["scope"] == "topics" && onA.json["group"] == "news", "\(onA.body)")
            let local = try #require(onA.member)
            let remote = try #require(try await Self.call(b, "POST", "/v1/topics/news/subscribers").member)
            _ = try await Self.call(b, "POST", "/v1/topics/news/subscribers", #"{"member": "\#(remote)"}"#) // twice: still one message
            #expect(await Self.eventually(.seconds(5)) { await nodes[0].subscribers("news").count == 3 })
            // When
            let published = try await Self.call(a, "POST", "/v1/topics/news/publish", #"{"message": {"hello": "world"}}"#)
            let binary = try await Self.call(a, "POST", "/v1/topics/news/publish", #"{"payload_base64": "/wA="}"#)
            // Then
            #expect(published.status == 200 && published.json == ["nodes": 2], "\(published.body)")
            #expect(binary.json == ["nodes": 2])
            #expect(await Self.eventually(.seconds(5)) { (try? await Self.messages(b, remote).count) == 2 })
            for (admin, member, path) in [(a, local, "local"), (b, remote, "remote")] {
                let messages = try await Self.messages(admin, member)
                #expect(messages.count == 2, "\(messages)")
                #expect(messages.map { $0["path"] } == [.string(path), .string(path)])
                #expect(messages.map { $0["kind"] } == ["published", "published"] && messages.map { $0["topic"] } == ["news", "news"])
                #expect(messages.first?["message"] == ["hello": "world"], "\(messages)")
                #expect(messages.first?["payload_base64"] == .string("eyJoZWxsbyI6IndvcmxkIn0="))
                #expect(messages.last?["payload_base64"] == "/wA=" && messages.last?["message"] == nil)
                #expect(messages.allSatisfy { $0["from_node"]?.stringValue == "\(nodes[0].uid)" })
            }
            let none = try await Self.call(a, "POST", "/v1/topics/quiet/publish", #"{"message": null}"#)
            #expect(none.status == 200 && none.json == ["nodes": 0])
            for body in [#"{}"#, #"{"message": 1, "payload_base64": "AA=="}"#, #"{"payload_base64": "!!"}"#, #"{"msg": 1}"#] {
                let refused = try await Self.call(a, "POST", "/v1/topics/news/publish", body)
                #expect(refused.status == 400 && refused.error == "bad_request", "\(body): \(refused.body)")
            }
            #expect(try await Self.messages(a, local).count == 2, "no refused message went out")
            // Unsubscribe through the topics scope
            let left = try await Self.call(a, "DELETE", "/v1/scopes/topics/groups/news/members/\(local)")
            #expect(left.status == 200)
            #expect(await nodes[0].localMembers(scope: TopicNames.scope, group: "news") == [])
        }
    }

    @Test("given a recorder that keeps 3 messages, when it gets 5, then it keeps the last 3, counts 2 dropped, and pages with after and limit")
    func recorderKeepsTheLatest() async throws {
        try await Self.withCluster(1, limits: Recorders.Limits(messagesPerRecorder: 3)) { admins, nodes, _ in
            let admin = admins[0]
            let id = try #require(try await Self.call(admin, "POST", "/v1/topics/t/subscribers").member)
            for number in 1...5 {
                _ = try await Self.call(admin, "POST", "/v1/topics/t/publish", #"{"message": \#(number)}"#)
            }
            // When
            let all = try await Self.call(admin, "GET", "/v1/recorders/\(id)/messages")
            // Then
            #expect(all.json["received"] == 5 && all.json["dropped"] == 2 && all.json["member"] == .string(id), "\(all.body)")
            let messages = all.json["messages"]?.arrayValue ?? []
            #expect(messages.map { $0["seq"] } == [3, 4, 5] && messages.map { $0["message"] } == [3, 4, 5], "\(all.body)")
            #expect(try await Self.messages(admin, id, query: "?after=4").map { $0["seq"] } == [5])
            #expect(try await Self.messages(admin, id, query: "?after=1&limit=1").map { $0["seq"] } == [3])
            #expect(try await Self.messages(admin, id, query: "?after=5").isEmpty)
            let listed = try await Self.call(admin, "GET", "/v1/recorders")
            #expect(listed.json == ["recorders": [["member": .string(id), "received": 5, "dropped": 2, "kept": 3]]], "\(listed.body)")
            // A message sent to the recorder by a member of the embedding program is kind bytes, with its sender.
            let sender = nodes[0].makeMember()
            #expect(try await nodes[0].send(Array("[1]".utf8), to: try #require(GroupMemberID(id)), from: sender) == .local)
            let last = try #require(try await Self.messages(admin, id, query: "?after=5").first)
            #expect(last["kind"] == "bytes" && last["from"] == .string("\(sender.id)") && last["payload_base64"] == "WzFd"
                    && last["message"] == [1], "\(last.text)")
        }
    }

    @Test("given recorders, when the admin server stops, then they end and leave their groups")
    func stoppingTheServerEndsRecorders() async throws {
        try await Self.withCluster(1) { admins, nodes, servers in
            _ = try await Self.call(admins[0], "POST", "/v1/scopes/s/groups/g/members")
            #expect(await nodes[0].whichGroups(scope: "s") == ["g"])
            // When
            await servers[0].stop()
            // Then
            #expect(await Self.eventually(.seconds(5)) { await nodes[0].whichGroups(scope: "s") == [] })
            #expect(servers[0].recorders.all.isEmpty)
        }
    }
}

/// The pure parts under the routes: the recorder's log, base64, event bodies, queries and the
/// mapping of errors to statuses.
@Suite("Admin API: recorder log, base64, event bodies, error statuses")
struct AdminGroupsRulesTests {
    static func message(_ payload: [UInt8]) -> GroupMessage {
        GroupMessage(from: nil, fromNode: NodeUID(rawValue: 1), content: .published(topic: "t", payload: payload), path: .local)
    }

    @Test("given a log of 3 messages, when 5 arrive, then it keeps seq 3 to 5 and counts 2 dropped; entries page by after and limit")
    func logKeepsTheLatestByCount() {
        var log = RecorderLog(capacity: 3, byteCapacity: 1 << 20)
        for byte in UInt8(1)...5 { log.append(Self.message([byte])) }
        #expect(log.received == 5 && log.dropped == 2 && log.count == 3)
        #expect(log.entries(after: 0, limit: 10).map(\.seq) == [3, 4, 5])
        #expect(log.entries(after: 3, limit: 10).map(\.seq) == [4, 5])
        #expect(log.entries(after: 2, limit: 1).map(\.seq) == [3])
        #expect(log.entries(after: 5, limit: 10).isEmpty && log.entries(after: 99, limit: 10).isEmpty)
        #expect(log.entries(after: 0, limit: 10).map { $0.message.payload } == [[3], [4], [5]])
    }

    @Test("given a byte budget, when payloads exceed it, then the oldest go first but the newest is kept whatever its size")
    func logKeepsWithinBytes() {
        var log = RecorderLog(capacity: 100, byteCapacity: 3 * 64 + 30)
        for _ in 0..<3 { log.append(Self.message(Array(repeating: 0, count: 10))) }
        #expect(log.count == 3 && log.dropped == 0 && log.bytes == 3 * 74)
        log.append(Self.message(Array(repeating: 0, count: 10)))
        #expect(log.count == 3 && log.dropped == 1)
        log.append(Self.message(Array(repeating: 0, count: 1000)))
        #expect(log.count == 1 && log.dropped == 4 && log.entries(after: 0, limit: 9).map(\.seq) == [5])
    }

    @Test("given 5,000 messages through a log of 10, then memory stays bounded and the last 10 come out in order")
    func logCompacts() {
        var log = RecorderLog(capacity: 10, byteCapacity: 1 << 20)
        for index in 0..<5000 { log.append(Self.message([UInt8(truncatingIfNeeded: index)])) }
        #expect(log.count == 10 && log.dropped == 4990)
        #expect(log.entries(after: 0, limit: 100).map(\.seq) == Array(4991...5000))
    }

    @Test("given bytes, base64 round-trips them; non-canonical or malformed text is refused")
    func base64() throws {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 200) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.decode("/wA=") == [0xFF, 0x00] && Base64.decode("AA==") == [0] && Base64.decode("") == [])
        for bad in ["A", "AB=", "A===", "AB=A", "AA==\n", "AA==AA==", "=AAA", "AAA*", "AA\u{00e9}="] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
        #expect(Base64.decode("AB==") == nil && Base64.decode("AAB=") == nil, "unused bits must be zero")
    }

    @Test("given only the required fields, then the event takes reckon_db's defaults and the clock given; JSON data is carried as compact text")
    func eventDefaults() throws {
        let body = Array(#"{"event_id": "e", "event_type": "T", "stream_id": "s", "data": {"b": [1, 2.5], "a": "x/y"}, "metadata": null}"#.utf8)
        let event = try EventRequest(body: body, nowMicros: 1_700_000_000_123_456).event
        #expect(event == EmitterEvent(eventID: "e", eventType: "T", streamID: "s", version: 0, data: Array(#"{"a":"x\/y","b":[1,2.5]}"#.utf8),
                                      metadata: [], tags: nil, timestamp: 1_700_000_000_123, epochMicros: 1_700_000_000_123_456))
        let micros = try EventRequest(body: Array(#"{"event_id": "e", "event_type": "T", "stream_id": "s", "epoch_us": 5000, "tags": []}"#.utf8),
                                      nowMicros: 1).event
        #expect(micros.timestamp == 5 && micros.epochMicros == 5000 && micros.tags == [])
        #expect(throws: HTTPError.self) { try EventRequest(body: Array(#"{"event_id": "e", "event_type": "T", "stream_id": "s", "tags": [\#(Array(repeating: "\"t\"", count: 1025).joined(separator: ","))]}"#.utf8), nowMicros: 1) }
    }

    @Test("given the embedding API's errors, then each maps to its status and stable code")
    func errorStatuses() {
        let member = GroupMemberID(node: NodeUID(rawValue: 1), serial: 2)
        let expected: [(HTTPError, Int, String)] = [
            (HTTPError(GroupsError.notLocal(member)), 409, "not_local"),
            (HTTPError(GroupsError.notJoined), 404, "not_joined"),
            (HTTPError(GroupsError.memberEnded(member)), 404, "member_ended"),
            (HTTPError(GroupsError.nodeStopped), 503, "node_stopped"),
            (HTTPError(GroupsError.invalidScope("")), 400, "invalid_name"),
            (HTTPError(GroupsError.invalidGroup("")), 400, "invalid_name"),
            (HTTPError(EmitterError.noEmitters), 409, "no_emitters"),
            (HTTPError(EmitterError.notAcknowledged(attempts: 3)), 504, "not_acknowledged"),
            (HTTPError(EmitterError.nodeStopped), 503, "node_stopped"),
            (HTTPError(RecorderError.unknown(member)), 404, "unknown_recorder"),
            (HTTPError(RecorderError.tooMany(limit: 1)), 409, "too_many_recorders"),
        ]
        for (error, status, code) in expected {
            #expect(error.status.code == status && error.code == code, "\(error)")
            #expect(ErrorResponse(error).error == code)
        }
        #expect(HTTPError(.badRequest, "x").code == "bad_request")
    }

    @Test("given a query, then pairs are percent-decoded in order; a bad encoding makes it nil")
    func query() {
        #expect(HTTPRequest(method: "GET", target: "/a").query?.isEmpty == true)
        let pairs = HTTPRequest(method: "GET", target: "/a?ack=true&x=%2F%20&flag").query
        #expect(pairs?.map(\.name) == ["ack", "x", "flag"] && pairs?.map(\.value) == ["true", "/ ", ""])
        #expect(HTTPRequest(method: "GET", target: "/a?x=%FF").query == nil)
    }
}
