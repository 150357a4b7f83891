import ChorusTestSupport
import Foundation
import Testing

/// A few of Erlang pg_SUITE's behaviours between real `chorus agent` processes on 127.0.0.1,
/// through the admin API (recorders are the members).
@Suite("pg behaviours between agent processes", .serialized, .timeLimit(.minutes(3)))
struct GroupsAgentTests {
    static func group(_ admin: String, _ scope: String, _ group: String) async -> (members: [String], local: [String])? {
        guard let answer = await AdminClient.get(admin, "/v1/scopes/\(scope)/groups/\(group)"), answer.status == 200,
              let object = GroupsCommandTests.object(answer.body) else { return nil }
        return ((object["members"] as? [String]) ?? [], (object["local_members"] as? [String]) ?? [])
    }

    static func groups(_ admin: String, _ scope: String) async -> [String]? {
        guard let answer = await AdminClient.get(admin, "/v1/scopes/\(scope)/groups"), answer.status == 200 else { return nil }
        return GroupsCommandTests.object(answer.body)?["groups"] as? [String]
    }

    static func everywhere(_ admins: [String], _ condition: @escaping (String) async -> Bool) async -> Bool {
        await GroupsCommandTests.eventually {
            for admin in admins where !(await condition(admin)) { return false }
            return true
        }
    }

    @Test("two, then single's death: a member joined twice on n1 is listed twice on n2 and n3; kill -9 of n3 takes its members from every survivor")
    func twoAndDeath() async throws {
        let cluster = try MembershipTests.Cluster(count: 3, name: "pg-two")
        try await cluster.startAll()
        for admin in cluster.admins { #expect(await MembershipTests.eventually(admin, MembershipTests.allAlive(3))) }
        let (n1, n2, n3) = (cluster.admins[0], cluster.admins[1], cluster.admins[2])
        // When: a member of n1 joins twice, one of n3 once
        let worker = try #require(await GroupsCommandTests.post(n1, "/v1/scopes/s/groups/g/members"))
        _ = await GroupsCommandTests.post(n1, "/v1/scopes/s/groups/g/members", #"{"member": "\#(worker)"}"#)
        let doomed = try #require(await GroupsCommandTests.post(n3, "/v1/scopes/s/groups/g/members"))
        let alone = try #require(await GroupsCommandTests.post(n3, "/v1/scopes/s/groups/only-n3/members"))
        // Then
        let joined = [worker, worker, doomed].sorted()
        #expect(await Self.everywhere(cluster.admins) { await Self.group($0, "s", "g")?.members == joined }, "\(cluster.logs)")
        #expect(await Self.group(n2, "s", "g")?.local == [])
        #expect(await Self.group(n3, "s", "only-n3")?.members == [alone])
        // When: n3 is killed
        kill(try #require(cluster.agents[2]).process.processIdentifier, SIGKILL)
        // Then: its members leave every survivor's view, and its group is gone (no phantom group)
        #expect(await Self.everywhere([n1, n2]) { await Self.group($0, "s", "g")?.members == [worker, worker] })
        #expect(await Self.everywhere([n1, n2]) { await Self.groups($0, "s") == ["g"] })
        // When: n1's member leaves once, then once more
        #expect(await AdminClient.send(n1, "DELETE", "/v1/scopes/s/groups/g/members/\(worker)")?.status == 200)
        #expect(await AdminClient.send(n1, "DELETE", "/v1/scopes/s/groups/g/members/\(worker)")?.status == 200)
        let third = await AdminClient.send(n1, "DELETE", "/v1/scopes/s/groups/g/members/\(worker)")
        #expect(third?.status == 404 && third?.body.contains("not_joined") == true, "\(third?.body ?? "")")
        #expect(await Self.everywhere([n1, n2]) { await Self.groups($0, "s") == [] })
        await cluster.stopAll()
    }

    @Test("netsplit: while n3 is cut off from membership, each side's joins stay on its side; after the heal both sides see all of them")
    func netsplit() async throws {
        let cluster = try MembershipTests.Cluster(count: 3, name: "pg-split", membership: "debug_faults: true")
        try await cluster.startAll()
        for admin in cluster.admins { #expect(await MembershipTests.eventually(admin, MembershipTests.allAlive(3))) }
        let (n1, n2, n3) = (cluster.admins[0], cluster.admins[1], cluster.admins[2])
        let before = try #require(await GroupsCommandTests.post(n3, "/v1/scopes/s/groups/g/members"))
        #expect(await Self.everywhere(cluster.admins) { await Self.group($0, "s", "g")?.members == [before] })
        // When: n3 drops all membership traffic with n1 and n2, until both sides see the other dead
        let cut = #"{"drop_inbound": ["n1", "n2"], "drop_outbound": ["n1", "n2"]}"#
        #expect(await AdminClient.send(n3, "PUT", "/v1/debug/faults", body: cut)?.status == 200)
        #expect(await MembershipTests.eventually(n1) { views in views.contains { $0.name == "n3" && $0.status == "dead" } })
        #expect(await MembershipTests.eventually(n3) { views in views.filter { $0.status == "dead" }.count == 2 })
        // Then: n3's member left the majority's view, and joins made now stay on their side
        #expect(await Self.everywhere([n1, n2]) { await Self.groups($0, "s") == [] })
        let majority = try #require(await GroupsCommandTests.post(n1, "/v1/scopes/s/groups/g/members"))
        let minority = try #require(await GroupsCommandTests.post(n3, "/v1/scopes/s/groups/split/members"))
        #expect(await Self.everywhere([n1, n2]) { await Self.group($0, "s", "g")?.members == [majority] })
        #expect(await Self.group(n3, "s", "g")?.members == [before])
        #expect(await Self.group(n3, "s", "split")?.members == [minority])
        // When: the split heals
        #expect(await AdminClient.send(n3, "DELETE", "/v1/debug/faults")?.status == 200)
        // Then: one view everywhere, with the joins of both sides
        #expect(await Self.everywhere(cluster.admins) { await Self.group($0, "s", "g")?.members == [before, majority].sorted() },
                "\(cluster.logs)")
        #expect(await Self.everywhere(cluster.admins) { await Self.group($0, "s", "split")?.members == [minority] })
        await cluster.stopAll()
    }
}
