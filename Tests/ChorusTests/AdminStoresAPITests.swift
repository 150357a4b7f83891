import Chorus
@testable import ChorusAdmin
import ChorusLoop
import ChorusTestSupport
import Logging
import Prometheus
import Testing

/// The admin API's stores routes (epochs, shapes, process status, LSN trackers), over real HTTP,
/// with nodes in this process.
@Suite("Admin API: stores", .serialized, .timeLimit(.minutes(2)))
struct AdminStoresAPITests {
    typealias Reply = AdminGroupsAPITests.Reply

    static func call(_ admin: String, _ method: String, _ path: String, _ body: String? = nil) async throws -> Reply {
        try await AdminGroupsAPITests.call(admin, method, path, body)
    }

    /// Whether `value` is an LSN as the API writes it: 16 lowercase hex digits, `/`, uppercase hex.
    static func isLSN(_ value: JSONValue?) -> Bool {
        guard let text = value?.stringValue else { return false }
        return text.wholeMatch(of: #/[0-9a-f]{16}\/[0-9A-F]{1,16}/#) != nil
    }

    // MARK: Epochs

    @Test("given a node, when a client is started and epochs are put, read and deleted through the API, then the answers carry LSNs and the stored epoch, and an epoch never goes back")
    func epochs() async throws {
        try await AdminGroupsAPITests.withCluster(1) { admins, nodes, _ in
            let admin = admins[0], node = nodes[0]
            // When
            let started = try await Self.call(admin, "PUT", "/v1/epochs/pulsar-1")
            // Then
            #expect(started.status == 200 && Self.isLSN(started.json["lsn"]), "\(started.body)")
            let again = try await Self.call(admin, "PUT", "/v1/epochs/pulsar-1", "{}")
            #expect(again.status == 200 && again.json == ["lsn": nil], "\(again.body)")
            let put = try await Self.call(admin, "PUT", "/v1/epochs/pulsar-1/t/p/exclusive", #"{"epoch": 5}"#)
            #expect(put.status == 200 && Self.isLSN(put.json["lsn"]) && put.json["epoch"] == 5, "\(put.body)")
            #expect(try node.epochs.get(client: "pulsar-1", topic: "t", producer: "p", mode: .exclusive) == 5)
            let lower = try await Self.call(admin, "PUT", "/v1/epochs/pulsar-1/t/p/Exclusive", #"{"epoch": 3}"#)
            #expect(lower.status == 200 && lower.json["epoch"] == 5 && lower.json["lsn"] == put.json["lsn"],
                    "a lower put keeps the higher epoch and answers the LSN that stored it: \(lower.body)")
            let got = try await Self.call(admin, "GET", "/v1/epochs/pulsar-1/t/p/exclusive")
            #expect(got.status == 200 && got.body == #"{"epoch":5}"#, "\(got.body)")
            // Integers above 2^53 are exact, up to 2^64 - 1.
            for epoch in ["9007199254740993", "18446744073709551615"] {
                let big = try await Self.call(admin, "PUT", "/v1/epochs/pulsar-1/t/big/shared", #"{"epoch": \#(epoch)}"#)
                #expect(big.status == 200 && big.body.contains(#""epoch":\#(epoch)"#), "\(big.body)")
                #expect(try await Self.call(admin, "GET", "/v1/epochs/pulsar-1/t/big/Shared").body == #"{"epoch":\#(epoch)}"#)
            }
            #expect(try node.epochs.get(client: "pulsar-1", topic: "t", producer: "big", mode: .shared) == UInt64.max)
            // Percent-encoded segments are decoded: a slash and a space inside a name.
            _ = try await Self.call(admin, "PUT", "/v1/epochs/a%2Fb%20c")
            let encoded = try await Self.call(admin, "PUT", "/v1/epochs/a%2Fb%20c/to%2Fpic/pro%3Aducer/wait_for_exclusive", #"{"epoch": 1}"#)
            #expect(encoded.status == 200, "\(encoded.body)")
            #expect(try node.epochs.get(client: "a/b c", topic: "to/pic", producer: "pro:ducer", mode: .waitForExclusive) == 1)
            // When: deleted
            let deleted = try await Self.call(admin, "DELETE", "/v1/epochs/pulsar-1/t/p/exclusive")
            // Then
            #expect(deleted.status == 200 && Self.isLSN(deleted.json["lsn"]), "\(deleted.body)")
            let gone = try await Self.call(admin, "GET", "/v1/epochs/pulsar-1/t/p/exclusive")
            #expect(gone.status == 404 && gone.error == "not_found", "\(gone.body)")
            let twice = try await Self.call(admin, "DELETE", "/v1/epochs/pulsar-1/t/p/exclusive")
            #expect(twice.status == 200 && twice.json == ["lsn": nil], "\(twice.body)")
            // When: the client is removed
            let removed = try await Self.call(admin, "DELETE", "/v1/epochs/pulsar-1")
            // Then
            #expect(removed.status == 200 && Self.isLSN(removed.json["lsn"]), "\(removed.body)")
            #expect(try node.epochs.isStarted(client: "pulsar-1") == false)
            for (method, body) in [("GET", nil), ("PUT", #"{"epoch": 9}"#), ("DELETE", nil)] {
                let refused = try await Self.call(admin, method, "/v1/epochs/pulsar-1/t/p/shared", body)
                #expect(refused.status == 404 && refused.error == "client_not_started", "\(method): \(refused.body)")
            }
            let never = try await Self.call(admin, "PUT", "/v1/epochs/never/t/p/shared", #"{"epoch": 1}"#)
            #expect(never.status == 404 && never.error == "client_not_started", "\(never.body)")
            #expect(try await Self.call(admin, "DELETE", "/v1/epochs/never").json == ["lsn": nil])
        }
    }

    // MARK: Shapes

    @Test("given a node, when a shape is added, found again in another spelling, and its fields are set through the API, then each answer says what is held; an unknown handle is 404 unknown_shape")
    func shapes() async throws {
        try await AdminGroupsAPITests.withCluster(1) { admins, nodes, _ in
            let admin = admins[0], node = nodes[0]
            // When
            let added = try await Self.call(admin, "POST", "/v1/shapes/stack%201", #"{"shape": {"table": "items", "where": "id > 3", "limit": 1e2, "columns": ["a/b", "\u00e9"]}}"#)
            // Then
            #expect(added.status == 201 && Self.isLSN(added.json["lsn"]), "\(added.body)")
            let handleText = try #require(added.json["handle"]?.stringValue)
            let handle = try #require(ShapeHandle(handleText))
            let canonical = #"{"columns":["a/b","é"],"limit":100,"table":"items","where":"id > 3"}"#
            #expect(try node.shapes.listShapes(stack: "stack 1").map(\.shape.definition) == [canonical])
            let same = try await Self.call(admin, "POST", "/v1/shapes/stack%201",
                                           "{ \"shape\" : {\"where\":\"id > 3\",\n\"columns\":[\"a\\/b\",\"é\"], \"table\":\"\\u0069tems\", \"limit\": 100.0 } }")
            #expect(same.status == 200 && same.json == ["handle": .string(handleText), "lsn": nil], "one shape, spelled otherwise: \(same.body)")
            let list = try await Self.call(admin, "GET", "/v1/shapes/stack%201")
            #expect(list.status == 200, "\(list.body)")
            let shapes = try #require(ShapeListResponse(json: list.json))
            #expect(shapes.shapes.map(\.handle) == [handleText] && shapes.shapes.first?.latestOffset == "0_0", "\(list.body)")
            #expect(shapes.shapes.first?.shape == (try JSONParser.parse(canonical)))
            let fresh = try #require(ShapeResponse(json: try await Self.call(admin, "GET", "/v1/shapes/stack%201/\(handleText)").json))
            #expect(fresh.snapshotXmin == nil && !fresh.snapshotStarted && fresh.latestOffset == "0_0")
            // Latest offset: forward only.
            let offset = try await Self.call(admin, "PUT", "/v1/shapes/stack%201/\(handleText)/latest_offset", #"{"offset": "12_3"}"#)
            #expect(offset.status == 200 && Self.isLSN(offset.json["lsn"]) && offset.json["latest_offset"] == "12_3", "\(offset.body)")
            let back = try await Self.call(admin, "PUT", "/v1/shapes/stack%201/\(handleText)/latest_offset", #"{"offset": "5_0"}"#)
            #expect(back.status == 200 && back.json == ["lsn": nil, "latest_offset": "12_3"], "\(back.body)")
            // Snapshot xmin: set once; a different value is ignored and the kept one answered.
            let xmin = try await Self.call(admin, "PUT", "/v1/shapes/stack%201/\(handleText)/snapshot_xmin", #"{"xmin": 100}"#)
            #expect(xmin.status == 200 && Self.isLSN(xmin.json["lsn"]) && xmin.json["snapshot_xmin"] == 100 && xmin.json["ignored"] == false,
                    "\(xmin.body)")
            let sameXmin = try await Self.call(admin, "PUT", "/v1/shapes/stack%201/\(handleText)/snapshot_xmin", #"{"xmin": 100}"#)
            #expect(sameXmin.json == ["lsn": nil, "snapshot_xmin": 100, "ignored": false], "\(sameXmin.body)")
            let otherXmin = try await Self.call(admin, "PUT", "/v1/shapes/stack%201/\(handleText)/snapshot_xmin", #"{"xmin": 200}"#)
            #expect(otherXmin.status == 200 && otherXmin.json == ["lsn": nil, "snapshot_xmin": 100, "ignored": true], "\(otherXmin.body)")
            // Snapshot started: a flag.
            let mark = try await Self.call(admin, "POST", "/v1/shapes/stack%201/\(handleText)/snapshot_started")
            #expect(mark.status == 200 && Self.isLSN(mark.json["lsn"]), "\(mark.body)")
            #expect(try await Self.call(admin, "POST", "/v1/shapes/stack%201/\(handleText)/snapshot_started", "{}").json == ["lsn": nil])
            let full = try await Self.call(admin, "GET", "/v1/shapes/stack%201/\(handleText)")
            #expect(full.status == 200 && ShapeResponse(json: full.json)
                == ShapeResponse(handle: handle, shape: Shape(definition: canonical), latestOffset: LogOffset(txOffset: 12, opOffset: 3),
                                 snapshotXmin: 100, snapshotStarted: true), "\(full.body)")
            // When: removed
            let removed = try await Self.call(admin, "DELETE", "/v1/shapes/stack%201/\(handleText)")
            // Then
            #expect(removed.status == 200 && Self.isLSN(removed.json["lsn"]), "\(removed.body)")
            #expect(try await Self.call(admin, "GET", "/v1/shapes/stack%201").json == ["shapes": []])
            let unknown: [(String, String, String?)] = [
                ("GET", "", nil), ("DELETE", "", nil), ("PUT", "/latest_offset", #"{"offset": "1_0"}"#),
                ("PUT", "/snapshot_xmin", #"{"xmin": 1}"#), ("POST", "/snapshot_started", nil),
            ]
            for (method, suffix, body) in unknown {
                let reply = try await Self.call(admin, method, "/v1/shapes/stack%201/\(handleText)\(suffix)", body)
                #expect(reply.status == 404 && reply.error == "unknown_shape", "\(method) \(suffix): \(reply.body)")
            }
        }
    }

    // MARK: Process status

    @Test("given a node, when items are processed, listed, read and reset through the API, then each keeping is its own status and a timestamp never goes back")
    func processStatus() async throws {
        try await AdminGroupsAPITests.withCluster(1) { admins, nodes, _ in
            let admin = admins[0], node = nodes[0]
            // When
            let first = try await Self.call(admin, "POST", "/v1/process-status/ops/items", #"{"entity": "users", "timestamp": 1000}"#)
            // Then
            #expect(first.status == 200 && Self.isLSN(first.json["lsn"]), "\(first.body)")
            let lower = try await Self.call(admin, "POST", "/v1/process-status/ops/items?keeping=replicated", #"{"entity": "users", "timestamp": 500}"#)
            #expect(lower.status == 200 && lower.json == ["lsn": nil], "\(lower.body)")
            _ = try await Self.call(admin, "POST", "/v1/process-status/ops/items", #"{"entity": "a/b", "timestamp": -5}"#)
            let durable = try await Self.call(admin, "POST", "/v1/process-status/ops/items?keeping=durable", #"{"entity": "orders", "timestamp": 7}"#)
            #expect(durable.status == 200 && Self.isLSN(durable.json["lsn"]), "\(durable.body)")
            let none = try await Self.call(admin, "POST", "/v1/process-status/ops/items?keeping=none", #"{"entity": "x", "timestamp": 1}"#)
            #expect(none.status == 200 && none.json == ["lsn": nil], "\(none.body)")
            let items = try await Self.call(admin, "GET", "/v1/process-status/ops/items")
            #expect(items.body == #"{"items":[{"entity":"a\/b","timestamp":-5},{"entity":"users","timestamp":1000}]}"#, "\(items.body)")
            #expect(try await Self.call(admin, "GET", "/v1/process-status/ops/items?keeping=durable").body
                == #"{"items":[{"entity":"orders","timestamp":7}]}"#)
            #expect(try await Self.call(admin, "GET", "/v1/process-status/ops/items?keeping=none").json == ["items": []])
            let one = try await Self.call(admin, "GET", "/v1/process-status/ops/items/a%2Fb")
            #expect(one.status == 200 && one.json == ["entity": "a/b", "timestamp": -5], "\(one.body)")
            let never = try await Self.call(admin, "GET", "/v1/process-status/ops/items/orders")
            #expect(never.status == 404 && never.error == "not_found", "replicated and durable are two statuses: \(never.body)")
            // When
            let reset = try await Self.call(admin, "DELETE", "/v1/process-status/ops/items")
            // Then
            #expect(reset.status == 200 && Self.isLSN(reset.json["lsn"]), "\(reset.body)")
            #expect(try node.processStatus(named: "ops").load().isEmpty)
            #expect(try node.processStatus(named: "ops", keeping: .durable).lastProcessed(entity: "orders") == 7)
            #expect(try await Self.call(admin, "DELETE", "/v1/process-status/ops/items").json == ["lsn": nil])
        }
    }

    // MARK: LSN trackers

    @Test("given a write, then GET /v1/lsn/{tracker} lists it, replicated says true (false for an LSN never written), and await answers ready, or 408 timeout after timeout_ms")
    func lsnTracker() async throws {
        try await AdminGroupsAPITests.withCluster(1) { admins, nodes, _ in
            let admin = admins[0], node = nodes[0]
            _ = try await Self.call(admin, "PUT", "/v1/epochs/c")
            let lsn = try #require(try await Self.call(admin, "PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": 1}"#).json["lsn"]?.stringValue)
            // When
            let replay = try await Self.call(admin, "GET", "/v1/lsn/default")
            // Then
            #expect(replay.status == 200 && replay.json == ["tracker": "default", "last_replay": [.string(lsn)]], "\(replay.body)")
            #expect(lsn.hasPrefix("\(node.uid)/"))
            let yes = try await Self.call(admin, "GET", "/v1/lsn/default/replicated?lsn=\(lsn)")
            #expect(yes.status == 200 && yes.json == ["lsn": .string(lsn), "replicated": true], "\(yes.body)")
            let never = "00000000000000aa/1"
            let no = try await Self.call(admin, "GET", "/v1/lsn/other.tracker/replicated?lsn=00000000000000AA%2F1")
            #expect(no.status == 200 && no.json == ["lsn": .string(never), "replicated": false], "\(no.body)")
            let ready = try await Self.call(admin, "POST", "/v1/lsn/default/await", #"{"lsn": "\#(lsn)"}"#)
            #expect(ready.status == 200 && ready.json == ["status": "ready"], "\(ready.body)")
            let started = ContinuousClock.now
            let timeout = try await Self.call(admin, "POST", "/v1/lsn/default/await", #"{"lsn": "\#(never)", "timeout_ms": 150}"#)
            #expect(timeout.status == 408 && timeout.error == "timeout", "\(timeout.body)")
            #expect(ContinuousClock.now - started >= .milliseconds(150))
            #expect(try await Self.call(admin, "GET", "/v1/health").status == 200, "the connection and server go on after a 408")
        }
    }

    @Test("given two nodes, when an epoch and a shape are written on a, then POST await of their LSNs on b answers ready and b reads them")
    func readYourWritesAcrossNodes() async throws {
        try await AdminGroupsAPITests.withCluster(2) { admins, _, _ in
            let (a, b) = (admins[0], admins[1])
            _ = try await Self.call(a, "PUT", "/v1/epochs/c")
            // When
            let put = try await Self.call(a, "PUT", "/v1/epochs/c/orders/p1/exclusive_with_fencing", #"{"epoch": 42}"#)
            let lsn = try #require(put.json["lsn"]?.stringValue, "\(put.body)")
            // Then
            let awaited = try await Self.call(b, "POST", "/v1/lsn/default/await", #"{"lsn": "\#(lsn)", "timeout_ms": 5000}"#)
            #expect(awaited.status == 200 && awaited.json == ["status": "ready"], "\(awaited.body)")
            let read = try await Self.call(b, "GET", "/v1/epochs/c/orders/p1/ExclusiveWithFencing")
            #expect(read.status == 200 && read.json == ["epoch": 42], "\(read.body)")
            // And for a shape
            let added = try await Self.call(a, "POST", "/v1/shapes/s", #"{"shape": {"table": "t"}}"#)
            let handle = try #require(added.json["handle"]?.stringValue, "\(added.body)")
            let shapeLSN = try #require(added.json["lsn"]?.stringValue, "\(added.body)")
            #expect(try await Self.call(b, "POST", "/v1/lsn/default/await", #"{"lsn": "\#(shapeLSN)"}"#).status == 200)
            let shape = try await Self.call(b, "GET", "/v1/shapes/s/\(handle)")
            #expect(shape.status == 200 && shape.json["shape"] == ["table": "t"], "\(shape.body)")
            #expect(try await Self.call(b, "GET", "/v1/lsn/default/replicated?lsn=\(shapeLSN)").json["replicated"] == true)
        }
    }

    // MARK: Refusals

    @Test("given bad bodies, fields, numbers, names, encodings, LSNs, offsets and queries, then the stores routes answer a 4xx JSON error naming the fault, and nothing changes")
    func refusalsChangeNothing() async throws {
        try await AdminGroupsAPITests.withCluster(1) { admins, nodes, _ in
            let admin = admins[0], node = nodes[0]
            _ = try await Self.call(admin, "PUT", "/v1/epochs/c")
            _ = try await Self.call(admin, "PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": 5}"#)
            let handle = try #require(try await Self.call(admin, "POST", "/v1/shapes/s", #"{"shape": {"a": 1}}"#).json["handle"]?.stringValue)
            _ = try await Self.call(admin, "POST", "/v1/process-status/ops/items", #"{"entity": "e", "timestamp": 10}"#)
            let replayBefore = try await Self.call(admin, "GET", "/v1/lsn/default").body
            let long = String(repeating: "x", count: 1025)
            let shape = "/v1/shapes/s/\(handle)"
            let cases: [(method: String, path: String, body: String?, status: Int, error: String, says: String)] = [
                ("PUT", "/v1/epochs/c/t/p/shared", "{", 400, "bad_request", "not a JSON object"),
                ("PUT", "/v1/epochs/c/t/p/shared", "[5]", 400, "bad_request", "not a JSON object"),
                ("PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": 6, "x": 1}"#, 400, "bad_request", "unknown field \"x\""),
                ("PUT", "/v1/epochs/c/t/p/shared", "{}", 400, "bad_request", "epoch: missing"),
                ("PUT", "/v1/epochs/c/t/p/shared", "", 400, "bad_request", "not a JSON object"),
                ("PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": "6"}"#, 400, "bad_request", "epoch: expected an integer"),
                ("PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": null}"#, 400, "bad_request", "found null"),
                ("PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": 6.0}"#, 400, "bad_request", "without fraction or exponent"),
                ("PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": 6e0}"#, 400, "bad_request", "without fraction or exponent"),
                ("PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": -1}"#, 400, "bad_request", "found -1"),
                ("PUT", "/v1/epochs/c/t/p/shared", #"{"epoch": 18446744073709551616}"#, 400, "bad_request", "out of range"),
                ("PUT", "/v1/epochs/c/t/p/SHARED", #"{"epoch": 6}"#, 400, "bad_request", "is not an access mode"),
                ("GET", "/v1/epochs/c/t/p/fenced", nil, 400, "bad_request", "is not an access mode"),
                ("PUT", "/v1/epochs/%FF/t/p/shared", #"{"epoch": 6}"#, 400, "bad_request", "percent-encoded"),
                ("PUT", "/v1/epochs/c/t/p/shared?force=true", #"{"epoch": 6}"#, 400, "bad_request", "unknown query parameter \"force\""),
                ("PUT", "/v1/epochs/c2", #"{"x": 1}"#, 400, "bad_request", "takes no body"),
                ("PUT", "/v1/epochs/\(long)", nil, 400, "invalid_argument", "cannot be stored"),
                ("PUT", "/v1/epochs/c/\(long)/p/shared", #"{"epoch": 6}"#, 400, "invalid_argument", "cannot be stored"),
                ("POST", "/v1/epochs/c", nil, 405, "method_not_allowed", "answers PUT, DELETE"),
                ("POST", "/v1/shapes/s", #"{"shape": [1]}"#, 400, "bad_request", "shape: expected a JSON object, found an array"),
                ("POST", "/v1/shapes/s", #"{"shape": "{}"}"#, 400, "bad_request", "shape: expected a JSON object, found a string"),
                ("POST", "/v1/shapes/s", #"{"shape": {"b": 2}, "x": 1}"#, 400, "bad_request", "unknown field \"x\""),
                ("POST", "/v1/shapes/s", "{}", 400, "bad_request", "shape: missing"),
                ("POST", "/v1/shapes/s", #"{"shape": {"b": 1, "b": 2}}"#, 400, "bad_request", "duplicate key"),
                ("POST", "/v1/shapes/\(long)", #"{"shape": {"b": 2}}"#, 400, "invalid_argument", "cannot be stored"),
                ("GET", "/v1/shapes/s/not-a-handle", nil, 400, "bad_request", "is not a shape handle"),
                ("GET", "/v1/shapes/s/\(handle.uppercased())", nil, 400, "bad_request", "is not a shape handle"),
                ("PUT", "\(shape)/latest_offset", #"{"offset": "1-2"}"#, 400, "bad_request", "is not a log offset"),
                ("PUT", "\(shape)/latest_offset", #"{"offset": "01_2"}"#, 400, "bad_request", "is not a log offset"),
                ("PUT", "\(shape)/latest_offset", #"{"offset": 12}"#, 400, "bad_request", "offset: expected a string"),
                ("PUT", "\(shape)/latest_offset", #"{"ofset": "1_2"}"#, 400, "bad_request", "unknown field \"ofset\""),
                ("PUT", "\(shape)/snapshot_xmin", #"{"xmin": 1.5}"#, 400, "bad_request", "xmin: expected an integer"),
                ("PUT", "\(shape)/snapshot_xmin", #"{"xmin": 9223372036854775808}"#, 400, "bad_request", "found 9223372036854775808"),
                ("POST", "\(shape)/snapshot_started", #"{"x": 1}"#, 400, "bad_request", "takes no body"),
                ("POST", "/v1/process-status/ops/items", #"{"entity": "", "timestamp": 11}"#, 400, "bad_request", "entity: must not be empty"),
                ("POST", "/v1/process-status/ops/items", #"{"entity": "e"}"#, 400, "bad_request", "timestamp: missing"),
                ("POST", "/v1/process-status/ops/items", #"{"entity": 1, "timestamp": 11}"#, 400, "bad_request", "entity: expected a string"),
                ("POST", "/v1/process-status/ops/items", #"{"entity": "\#(long)", "timestamp": 11}"#, 400, "invalid_argument", "cannot be stored"),
                ("POST", "/v1/process-status/ops/items?keeping=always", #"{"entity": "e", "timestamp": 11}"#, 400, "bad_request",
                 "keeping: expected replicated, durable or none"),
                ("DELETE", "/v1/process-status/ops/items?keeping=durable&keeping=none", nil, 400, "bad_request", "given twice"),
                ("DELETE", "/v1/process-status/ops/items?keeping=all", nil, 400, "bad_request", "keeping: expected"),
                ("GET", "/v1/lsn/default/replicated?lsn=nope", nil, 400, "bad_request", "is not an LSN"),
                ("GET", "/v1/lsn/default/replicated?lsn=0000000000000001/-1", nil, 400, "bad_request", "is not an LSN"),
                ("GET", "/v1/lsn/default/replicated", nil, 400, "bad_request", "lsn: missing"),
                ("POST", "/v1/lsn/default/await", #"{"lsn": "zz/1"}"#, 400, "bad_request", "is not an LSN"),
                ("POST", "/v1/lsn/default/await", #"{"lsn": "0000000000000001/1", "timeout_ms": 0}"#, 400, "bad_request", "from 1 to 60000"),
                ("POST", "/v1/lsn/default/await", #"{"lsn": "0000000000000001/1", "timeout_ms": 60001}"#, 400, "bad_request", "from 1 to 60000"),
                ("POST", "/v1/lsn/default/await", #"{"timeout_ms": 10}"#, 400, "bad_request", "lsn: missing"),
                ("GET", "/v1/lsn/a%20b", nil, 400, "bad_request", "is not a tracker name"),
                ("GET", "/v1/lsn/%2E%2E", nil, 400, "bad_request", "is not a tracker name"),
                ("GET", "/v1/lsn/\(String(repeating: "t", count: 65))", nil, 400, "bad_request", "is not a tracker name"),
                ("GET", "/v1/lsn/default/await", nil, 405, "method_not_allowed", "answers POST"),
            ]
            for item in cases {
                // When
                let reply = try await Self.call(admin, item.method, item.path, item.body)
                // Then
                #expect(reply.status == item.status, "\(item.method) \(item.path.prefix(80)) \(item.body ?? ""): \(reply.body)")
                #expect(reply.error == item.error, "\(item.method) \(item.path.prefix(80)): \(reply.body)")
                #expect(reply.json["message"]?.stringValue?.contains(item.says) == true, "\(item.method) \(item.path.prefix(80)): \(reply.body)")
            }
            let bigBody = try RawSocket(try SocketAddress(admin))
            bigBody.send("POST /v1/shapes/s HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n")
            let tooLarge = RawAnswer.all(in: await bigBody.readToEnd().text).first
            #expect(tooLarge?.status == 413 && tooLarge?.body.contains("content_too_large") == true, "\(String(describing: tooLarge))")
            // Nothing changed: no write was made (the last replay is the same), and every value is as it was.
            #expect(try await Self.call(admin, "GET", "/v1/lsn/default").body == replayBefore)
            #expect(try node.epochs.get(client: "c", topic: "t", producer: "p", mode: .shared) == 5)
            #expect(try node.epochs.isStarted(client: "c2") == false)
            #expect(try node.shapes.listShapes(stack: "s").map(\.shape.definition) == [#"{"a":1}"#])
            #expect(try node.shapes.latestOffset(handle: try #require(ShapeHandle(handle)), stack: "s") == .first)
            #expect(try node.shapes.snapshotXmin(handle: try #require(ShapeHandle(handle)), stack: "s") == nil)
            #expect(try node.shapes.snapshotStarted(handle: try #require(ShapeHandle(handle)), stack: "s") == false)
            #expect(try node.processStatus(named: "ops").load().map(\.timestamp) == [10])
            #expect(try node.processStatus(named: "ops", keeping: .durable).load().isEmpty)
        }
    }

    @Test("given a node whose stores are not open yet, then the stores routes answer 503 node_not_started")
    func storesNotOpen() async throws {
        try await AdminAPITests.withAdmin { address, _ in
            for (method, path, body) in [("GET", "/v1/epochs/c/t/p/shared", nil), ("PUT", "/v1/epochs/c", nil),
                                         ("GET", "/v1/shapes/s", nil), ("GET", "/v1/lsn/default", nil),
                                         ("POST", "/v1/process-status/n/items", #"{"entity": "e", "timestamp": 1}"#)] {
                let reply = try await Self.call(address, method, path, body)
                #expect(reply.status == 503 && reply.error == "node_not_started", "\(method) \(path): \(reply.body)")
            }
        }
    }

    // MARK: Canonical JSON

    @Test("given JSON objects that differ in key order, spacing, escapes or the spelling of numbers, then their canonical text is the same; keys sort by UTF-8 bytes")
    func canonicalJSON() throws {
        func canonical(_ text: String) throws -> String { CanonicalJSON.text(try JSONParser.parse(text)) }
        #expect(try canonical(#"{ "b" : [1.0, 1e2, -0, 0.5, 1.5e-7, 1e300], "a": "x\/y\u0001\n" }"#)
            == #"{"a":"x/y\u0001\n","b":[1,100,0,0.5,1.5e-7,1e+300]}"#)
        #expect(try canonical(#"{"n": 18446744073709551615, "m": 9007199254740993, "l": -9223372036854775808}"#)
            == #"{"l":-9223372036854775808,"m":9007199254740993,"n":18446744073709551615}"#)
        // "e" + U+0301 sorts before "é" by bytes (0x65 < 0xC3), whatever Swift's String order says.
        #expect(try canonical("{\"\u{e9}a\": 1, \"e\u{301}b\": 2, \"z\": 3}") == "{\"e\u{301}b\":2,\"z\":3,\"\u{e9}a\":1}")
        #expect(try canonical(#"{"k": {"y": true, "x": null}}"#) == #"{"k":{"x":null,"y":true}}"#)
    }
}
