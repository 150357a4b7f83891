import Chorus
import ChorusTestSupport
import Foundation
import Synchronization
import Testing

/// Acknowledged broadcast against a real crash: a `chorus agent` process killed with SIGKILL in
/// the middle of the stream. The agents' recorders keep journals on disk
/// (`recorder_journal: true`), so what a killed agent's member received is still there to check.
@Suite("acknowledged broadcast with a killed agent", .serialized, .timeLimit(.minutes(3)))
struct AcknowledgedBroadcastKillTests {
    /// What the broadcasting lanes saw.
    final class Outcomes: Sendable {
        let acked = Mutex<[String]>([])
        let failures = Mutex<[EmitterError]>([])
    }

    /// The event ids in a recorder's journal, one JSON object per line.
    static func journaledEventIDs(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let key = #""event_id":""#
        var ids: [String] = []
        for line in text.split(separator: "\n") {
            guard let start = line.range(of: key)?.upperBound, let end = line[start...].firstIndex(of: "\"") else { continue }
            ids.append(String(line[start..<end]))
        }
        return ids
    }

    @Test("given 100,000 acknowledged broadcasts from one node to emitters on two agent processes, and one agent killed with SIGKILL a third of the way, every acknowledged event is in a member's journal")
    func everyAcknowledgedEventReachedAMember() async throws {
        // Given: agents n1 and n2 with a recording emitter each, and this process as a third node
        let cluster = try MembershipTests.Cluster(count: 2, name: "ack-kill", membership: "recorder_journal: true")
        try await cluster.startAll()
        let port = try FreePorts.take(1)[0]
        var settings = NodeSettings(
            cluster: "ack-kill", name: "driver", bind: try SocketAddress(host: "127.0.0.1", port: port),
            seeds: [try SocketAddress(cluster.binds[0])], dataDir: cluster.dir + "/data/driver", profile: .local)
        settings.keyring = Keyring(primary: try ClusterKey(base64: TestKeys.cluster))
        let driver = try ClusterNode(settings: settings)
        try await driver.start()
        #expect(await GroupsCommandTests.eventually { await driver.members().filter { $0.state.status == .alive }.count == 3 })
        let onN1 = try #require(await GroupsCommandTests.post(cluster.admins[0], "/v1/emitters/s/x/members"))
        let onN2 = try #require(await GroupsCommandTests.post(cluster.admins[1], "/v1/emitters/s/x/members"))
        #expect(await GroupsCommandTests.eventually { await driver.emitters(store: "s", subscription: "x").count == 2 })
        let victim = try #require(cluster.agents[1]).process.processIdentifier
        // When: 100,000 acknowledged broadcasts, 64 at a time; n2 is killed a third of the way
        let total = 100_000, lanes = 64
        let outcomes = Outcomes()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    for k in stride(from: lane, to: total, by: lanes) {
                        let event = EmitterEvent(eventID: "e\(k)", eventType: "Tested", streamID: "s-\(k % 7)",
                                                 data: Array("{\"k\":\(k)}".utf8))
                        do throws(EmitterError) {
                            try await driver.broadcastAcknowledged(store: "s", subscription: "x", event: event,
                                                                   timeout: .seconds(10), attemptTimeout: .milliseconds(500))
                            outcomes.acked.withLock { $0.append("e\(k)") }
                        } catch {
                            outcomes.failures.withLock { $0.append(error) }
                        }
                        if k == total / 3 { kill(victim, SIGKILL) }
                    }
                }
            }
            try await group.waitForAll()
        }
        // Then: every acknowledged id is in the journal of n1's or n2's member
        let first = Self.journaledEventIDs("\(cluster.dir)/data/n1/recorders/\(onN1).jsonl")
        let second = Self.journaledEventIDs("\(cluster.dir)/data/n2/recorders/\(onN2).jsonl")
        let delivered = Set(first).union(second)
        let ackedIDs = outcomes.acked.withLock { $0 }
        let failed = outcomes.failures.withLock { $0.count }
        let lost = ackedIDs.filter { !delivered.contains($0) }
        print("acknowledged broadcast with SIGKILL: \(ackedIDs.count) acknowledged, \(failed) failed, journals hold \(first.count) on n1 and \(second.count) on the killed n2, \(lost.count) lost")
        #expect(second.count > 0 && second.count < total / 2, "the kill came in the middle of the stream")
        #expect(lost.isEmpty, "first lost: \(lost.prefix(5))")
        #expect(ackedIDs.count + failed == total)
        #expect(ackedIDs.count > total * 9 / 10)
        await driver.stop()
        await cluster.stopAll()
    }
}
