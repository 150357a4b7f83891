import ChorusTestSupport
import Foundation
import Testing

/// `chorus epochs`, `chorus shapes`, `chorus process-status` and `chorus lsn` against real
/// `chorus agent` processes on 127.0.0.1.
@Suite("chorus stores commands against agent processes", .serialized, .timeLimit(.minutes(2)))
struct StoresCommandTests {
    /// Runs `chorus arguments...` to its end: its exit status and its output (stdout and stderr).
    static func run(_ arguments: [String], in cluster: MembershipTests.Cluster) async throws -> (status: Int32?, output: String) {
        let process = try AgentProcess(arguments, in: cluster.dir)
        let status = await process.waitForExit()
        return (status, process.log)
    }

    /// The output's lines, runs of spaces made one (table columns).
    static func rows(_ output: String) -> [String] {
        output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
    }

    @Test("given two agents, when epochs, a shape and a process status are written through the CLI on n1, then chorus lsn await on n2 answers ready and the CLI reads them on n2; errors exit 1 with the reason")
    func storesCommands() async throws {
        let cluster = try MembershipTests.Cluster(count: 2, name: "stores-cli")
        try await cluster.startAll()
        let (n1, n2) = (cluster.admins[0], cluster.admins[1])
        #expect(await MembershipTests.eventually(n1, MembershipTests.allAlive(2)))
        #expect(await MembershipTests.eventually(n2, MembershipTests.allAlive(2)))
        let onN2 = ["--config", cluster.config, "--node", "n2"]

        // Epochs: start the client, put on n1, await on n2, read on n2.
        let started = try await Self.run(["epochs", "init", "pulsar-1", "--admin", n1], in: cluster)
        #expect(started.status == 0 && started.output.hasPrefix("started client \"pulsar-1\" (lsn "), "\(started.output)")
        let put = try await Self.run(["epochs", "put", "pulsar-1", "orders", "p1", "exclusive", "--epoch", "7", "--admin", n1, "--json"], in: cluster)
        #expect(put.status == 0, "\(put.output)")
        let putAnswer = GroupsCommandTests.object(put.output)
        let lsn = try #require(putAnswer?["lsn"] as? String, "\(put.output)")
        #expect(putAnswer?["epoch"] as? Int == 7, "\(put.output)")
        let lower = try await Self.run(["epochs", "put", "pulsar-1", "orders", "p1", "Exclusive", "--epoch", "3", "--admin", n1], in: cluster)
        #expect(lower.status == 0 && Self.rows(lower.output) == ["epoch 7, kept over 3 (lsn \(lsn))"], "\(lower.output)")
        // When
        let awaited = try await Self.run(["lsn", "await", lsn] + onN2, in: cluster)
        // Then
        #expect(awaited.status == 0 && Self.rows(awaited.output) == ["ready"], "\(awaited.output)")
        let read = try await Self.run(["epochs", "get", "pulsar-1", "orders", "p1", "exclusive", "--admin", n2], in: cluster)
        #expect(read.status == 0 && Self.rows(read.output) == ["epoch 7"], "\(read.output)")
        let replicated = try await Self.run(["lsn", "replicated", lsn, "--admin", n2], in: cluster)
        #expect(replicated.status == 0 && Self.rows(replicated.output) == ["\(lsn) replicated"], "\(replicated.output)")

        // Shapes: add on n1 (twice, spelled otherwise), set its fields on n2 once the add is there.
        let added = try await Self.run(["shapes", "add", "stack-1", "--shape", #"{"table": "items", "where": "id > 3"}"#, "--admin", n1], in: cluster)
        #expect(added.status == 0 && added.output.contains(" added (lsn "), "\(added.output)")
        let handle = try #require(added.output.split(separator: " ").first.map(String.init))
        let again = try await Self.run(["shapes", "add", "stack-1", "--shape", #"{"where":"id > 3","table":"items"}"#, "--admin", n1], in: cluster)
        #expect(again.status == 0 && Self.rows(again.output) == ["\(handle) (already there)"], "\(again.output)")
        let shapeLSN = try #require(added.output.split(separator: "(lsn ").last?.dropLast(2).description, "\(added.output)")
        #expect(try await Self.run(["lsn", "await", shapeLSN, "--wait", "5", "--admin", n2], in: cluster).status == 0)
        let offset = try await Self.run(["shapes", "set-offset", "stack-1", handle, "--offset", "12_3", "--admin", n2], in: cluster)
        #expect(offset.status == 0 && offset.output.hasPrefix("latest offset 12_3 (lsn "), "\(offset.output)")
        let xmin = try await Self.run(["shapes", "set-xmin", "stack-1", handle, "--xmin", "100", "--admin", n2], in: cluster)
        #expect(xmin.status == 0 && xmin.output.hasPrefix("snapshot xmin 100 (lsn "), "\(xmin.output)")
        let otherXmin = try await Self.run(["shapes", "set-xmin", "stack-1", handle, "--xmin", "200", "--admin", n2], in: cluster)
        #expect(otherXmin.status == 0 && Self.rows(otherXmin.output) == ["snapshot xmin 100 kept, 200 ignored"], "\(otherXmin.output)")
        let marked = try await Self.run(["shapes", "mark-started", "stack-1", handle, "--admin", n2], in: cluster)
        #expect(marked.status == 0 && marked.output.hasPrefix("snapshot started (lsn "), "\(marked.output)")
        let shape = try await Self.run(["shapes", "get", "stack-1", handle, "--admin", n2], in: cluster)
        #expect(shape.status == 0 && Self.rows(shape.output) == ["HANDLE LATEST_OFFSET SNAPSHOT_XMIN STARTED SHAPE",
                                                                 #"\#(handle) 12_3 100 yes {"table":"items","where":"id > 3"}"#], "\(shape.output)")
        let list = try await Self.run(["shapes", "list", "stack-1", "--admin", n2, "--json"], in: cluster)
        let shapes = GroupsCommandTests.object(list.output)?["shapes"] as? [[String: Any]]
        #expect(list.status == 0 && shapes?.map { $0["handle"] as? String } == [handle], "\(list.output)")

        // Process status.
        let processed = try await Self.run(["process-status", "processed", "ops", "users", "--timestamp", "1000", "--admin", n1], in: cluster)
        #expect(processed.status == 0 && processed.output.hasPrefix("recorded (lsn "), "\(processed.output)")
        let durable = try await Self.run(["process-status", "processed", "ops", "orders", "--timestamp", "-5", "--keeping", "durable", "--admin", n1],
                                         in: cluster)
        #expect(durable.status == 0, "\(durable.output)")
        let items = try await Self.run(["process-status", "list", "ops", "--admin", n1], in: cluster)
        #expect(items.status == 0 && Self.rows(items.output) == ["ENTITY TIMESTAMP", "users 1000"], "\(items.output)")
        let item = try await Self.run(["process-status", "get", "ops", "orders", "--keeping", "durable", "--admin", n1], in: cluster)
        #expect(item.status == 0 && Self.rows(item.output) == ["ENTITY TIMESTAMP", "orders -5"], "\(item.output)")
        let reset = try await Self.run(["process-status", "reset", "ops", "--admin", n1], in: cluster)
        #expect(reset.status == 0 && reset.output.hasPrefix("reset (lsn "), "\(reset.output)")

        let markedLSN = try #require(marked.output.split(separator: "(lsn ").last?.dropLast(2).description, "\(marked.output)")
        #expect(try await Self.run(["lsn", "await", markedLSN, "--admin", n1], in: cluster).status == 0)
        let shown = try await Self.run(["lsn", "show", "--admin", n1], in: cluster)
        #expect(shown.status == 0 && Self.rows(shown.output).count == 2, "a write of each node: \(shown.output)")

        // Removal, then the errors: each exits 1 with the API's code, or 2 for a bad command line.
        let removed = try await Self.run(["shapes", "remove", "stack-1", handle, "--admin", n1], in: cluster)
        #expect(removed.status == 0 && removed.output.hasPrefix("removed \(handle) (lsn "), "\(removed.output)")
        let gone = try await Self.run(["shapes", "get", "stack-1", handle, "--admin", n1], in: cluster)
        #expect(gone.status == 1 && gone.output.contains("(unknown_shape, HTTP 404)"), "\(gone.output)")
        let removedClient = try await Self.run(["epochs", "remove-client", "pulsar-1", "--admin", n1], in: cluster)
        #expect(removedClient.status == 0 && removedClient.output.hasPrefix("removed client \"pulsar-1\" (lsn "), "\(removedClient.output)")
        let notStarted = try await Self.run(["epochs", "delete", "pulsar-1", "orders", "p1", "exclusive", "--admin", n1], in: cluster)
        #expect(notStarted.status == 1 && notStarted.output.contains("client_not_started"), "\(notStarted.output)")
        let timeout = try await Self.run(["lsn", "await", "0000000000000001/1", "--wait", "0.2", "--admin", n2], in: cluster)
        #expect(timeout.status == 1 && timeout.output.contains("(timeout, HTTP 408)"), "\(timeout.output)")
        let badLSN = try await Self.run(["lsn", "replicated", "nope", "--admin", n2], in: cluster)
        #expect(badLSN.status == 2 && badLSN.output.contains("is not an LSN"), "\(badLSN.output)")
        let free = try FreePorts.take(1)[0]
        let unreachable = try await Self.run(["epochs", "get", "c", "t", "p", "shared", "--admin", "127.0.0.1:\(free)"], in: cluster)
        #expect(unreachable.status == 1 && unreachable.output.contains("no answer from the admin API"), "\(unreachable.output)")
        let usage = try await Self.run(["epochs", "put", "c", "t", "p", "shared", "--epoch", "-1", "--admin", n1], in: cluster)
        #expect(usage.status == 2 && usage.output.contains("--epoch must be a whole number"), "\(usage.output)")
        await cluster.stopAll()
    }
}
