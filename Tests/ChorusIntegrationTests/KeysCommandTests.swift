import ChorusTestSupport
import Foundation
import Testing

/// `chorus keys` against real `chorus agent` processes whose traffic is sealed.
@Suite("chorus keys against agent processes", .serialized, .timeLimit(.minutes(2)))
struct KeysCommandTests {
    static func run(_ arguments: [String], in dir: String) async throws -> (status: Int32, output: String) {
        let process = try AgentProcess(arguments, in: dir)
        let status = await process.waitForExit()
        return (status ?? -1, process.log)
    }

    @Test("given a sealed 3-agent cluster, when chorus keys installs, uses and removes keys over the cluster file, then every node follows each step, stays in the cluster, and a refused step exits 1 naming the node")
    func rotateWithTheCommand() async throws {
        let cluster = try MembershipTests.Cluster(count: 3, name: "keys-cli")
        try await cluster.startAll()
        #expect(await MembershipTests.eventually(cluster.admins[0], MembershipTests.allAlive(3)))
        let generated = try await Self.run(["keys", "generate"], in: cluster.dir)
        let key = generated.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(generated.status == 0 && key.count == 44, "\(generated.output)")
        for step in [["install", key], ["use", key], ["remove", TestKeys.cluster]] {
            let result = try await Self.run(["keys"] + step + ["--config", cluster.config], in: cluster.dir)
            #expect(result.status == 0, "\(step[0]): \(result.output)")
            #expect(result.output.split(separator: "\n").filter { $0.hasSuffix("changed") }.count == 3, "\(step[0]): \(result.output)")
        }
        let listed = try await Self.run(["keys", "list", "--config", cluster.config, "--json"], in: cluster.dir)
        let primaries = Set(listed.output.split(separator: "\n").compactMap { GroupsCommandTests.object(String($0))?["primary"] as? String })
        #expect(listed.status == 0 && primaries.count == 1, "\(listed.output)")
        let refused = try await Self.run(["keys", "remove", key, "--config", cluster.config], in: cluster.dir)
        #expect(refused.status == 1 && refused.output.contains("primary_key") && refused.output.contains("n2:"), "\(refused.output)")
        try await Task.sleep(for: .seconds(1))
        for admin in cluster.admins {
            #expect(await MembershipTests.eventually(admin, MembershipTests.allAlive(3)), "\(admin) still sees every node alive")
        }
        await cluster.stopAll()
    }
}
