import ChorusTestSupport
import Foundation
import Testing

/// `chorus groups` and `chorus broadcast` against real `chorus agent` processes on 127.0.0.1.
@Suite("chorus groups and chorus broadcast against agent processes", .serialized, .timeLimit(.minutes(2)))
struct GroupsCommandTests {
    static func object(_ text: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    /// POSTs to an agent's admin API and returns the member id it answers with.
    static func post(_ admin: String, _ path: String, _ body: String? = nil) async -> String? {
        guard let answer = await AdminClient.send(admin, "POST", path, body: body), answer.status / 100 == 2 else { return nil }
        return object(answer.body)?["member"] as? String
    }

    static func eventually(_ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    @Test("given two agents with recorders in groups and an emitter group, then chorus groups prints the scope's groups and a group's members, and chorus broadcast prints the member and path")
    func groupsAndBroadcast() async throws {
        let cluster = try MembershipTests.Cluster(count: 2, name: "groups-cli")
        try await cluster.startAll()
        let (n1, n2) = (cluster.admins[0], cluster.admins[1])
        #expect(await MembershipTests.eventually(n1, MembershipTests.allAlive(2)))
        let worker = try #require(await Self.post(n1, "/v1/scopes/jobs/groups/resize/members"))
        _ = await Self.post(n1, "/v1/scopes/jobs/groups/resize/members", #"{"member": "\#(worker)"}"#)
        let other = try #require(await Self.post(n2, "/v1/scopes/jobs/groups/thumb%20nails/members"))
        let emitter = try #require(await Self.post(n2, "/v1/emitters/orders/billing/members"))
        #expect(await Self.eventually {
            let group = await AdminClient.get(n1, "/v1/scopes/emitters/groups/6:orders:billing:emitters")
            return group.flatMap { Self.object($0.body)?["members"] as? [String] } == [emitter]
        })
        #expect(await Self.eventually {
            let scope = await AdminClient.get(n2, "/v1/scopes/jobs/groups")
            return scope.flatMap { Self.object($0.body)?["groups"] as? [String] } == ["resize", "thumb nails"]
        })

        // When: the scope, as n2 sees it
        let groups = try AgentProcess(["groups", "--admin", n2, "--scope", "jobs"], in: cluster.dir)
        // Then
        #expect(await groups.waitForExit() == 0, "\(groups.log)")
        let rows = groups.log.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(rows == ["GROUP MEMBERS LOCAL", "resize 2 0", "thumb nails 1 1"], "\(groups.log)")

        let members = try AgentProcess(["groups", "--config", cluster.config, "--node", "n1", "--scope", "jobs", "--group", "resize"], in: cluster.dir)
        #expect(await members.waitForExit() == 0, "\(members.log)")
        let memberRows = members.log.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(memberRows == ["MEMBER JOINS LOCAL", "\(worker) 2 yes"], "\(members.log)")

        let json = try AgentProcess(["groups", "--admin", n1, "--scope", "jobs", "--group", "thumb nails", "--json"], in: cluster.dir)
        #expect(await json.waitForExit() == 0)
        #expect(Self.object(json.log)?["members"] as? [String] == [other], "\(json.log)")
        #expect(Self.object(json.log)?["local_members"] as? [String] == [], "\(json.log)")

        // When: n1 broadcasts to the subscription whose only emitter is on n2
        let broadcast = try AgentProcess(["broadcast", "orders", "billing", "--admin", n1, "--event-id", "e-1", "--event-type", "OrderPlaced",
                                          "--stream-id", "order-1", "--version", "2", "--data", #"{"total": 3}"#, "--tag", "eu", "--ack"],
                                         in: cluster.dir)
        // Then
        #expect(await broadcast.waitForExit() == 0, "\(broadcast.log)")
        let receipt = broadcast.log.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(receipt == ["MEMBER PATH", "\(emitter) remote"], "\(broadcast.log)")
        let recorded = try #require(await AdminClient.get(n2, "/v1/recorders/\(emitter)/messages"))
        let messages = Self.object(recorded.body)?["messages"] as? [[String: Any]] ?? []
        #expect(messages.count == 1, "\(recorded.body)")
        let event = messages.first?["event"] as? [String: Any]
        #expect(messages.first?["path"] as? String == "remote" && event?["event_id"] as? String == "e-1", "\(recorded.body)")
        #expect(event?["version"] as? Int == 2 && event?["tags"] as? [String] == ["eu"], "\(recorded.body)")
        #expect((event?["data"] as? [String: Any])?["total"] as? Int == 3, "\(recorded.body)")

        // No emitter: exit 1 with the API's reason; a bad command line: exit 2.
        let none = try AgentProcess(["broadcast", "orders", "nobody", "--admin", n1, "--event-id", "e", "--event-type", "T", "--stream-id", "s"],
                                    in: cluster.dir)
        #expect(await none.waitForExit() == 1)
        #expect(none.log.contains("no_emitters"), "\(none.log)")
        let usage = try AgentProcess(["broadcast", "orders", "--admin", n1, "--event-id", "e"], in: cluster.dir)
        #expect(await usage.waitForExit() == 2)
        #expect(usage.log.contains("missing SUBSCRIPTION"), "\(usage.log)")
        let invalid = try AgentProcess(["broadcast", "orders", "billing", "--admin", n1, "--event-id", "e", "--event-type", "T",
                                        "--stream-id", "s", "--data-base64", "!"], in: cluster.dir)
        #expect(await invalid.waitForExit() == 2)
        #expect(invalid.log.contains("data_base64: not standard base64"), "\(invalid.log)")
        await cluster.stopAll()
    }
}
