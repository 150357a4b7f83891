import Chorus
import ChorusTestSupport
import Foundation
import Synchronization
import Testing

/// Replicated stores between `chorus agent` processes, through the admin API: read-your-writes on
/// another node, and a node killed with SIGKILL in the middle of a write load.
@Suite("stores between agent processes", .serialized, .timeLimit(.minutes(3)))
struct StoresKillTests {
    /// The keys whose write n2 acknowledged, from all lanes.
    final class Acknowledged: Sendable {
        let keys = Mutex<[Int]>([])
    }

    static func object(_ body: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    }

    /// PUT of an epoch; the LSN of the acknowledged write, nil when it was not acknowledged.
    static func put(_ admin: String, key: Int, epoch: UInt64) async -> String? {
        guard let answer = await AdminClient.send(admin, "PUT", "/v1/epochs/load/topic-\(key)/producer/exclusive",
                                                  body: #"{"epoch": \#(epoch)}"#, timeout: 10),
              answer.status == 200 else { return nil }
        return object(answer.body)?["lsn"] as? String
    }

    /// The epoch of key `key` on the node, nil when it holds none (or does not answer).
    static func epoch(_ admin: String, key: Int) async -> UInt64? {
        guard let answer = await AdminClient.get(admin, "/v1/epochs/load/topic-\(key)/producer/exclusive"),
              answer.status == 200 else { return nil }
        return (object(answer.body)?["epoch"] as? NSNumber)?.uint64Value
    }

    @Test("given three agents, when an epoch is written on n1, then n3 awaits its LSN and reads the same value")
    func readYourWritesOnAnotherNode() async throws {
        let cluster = try MembershipTests.Cluster(count: 3, name: "stores-ryw")
        try await cluster.startAll()
        #expect(await MembershipTests.eventually(cluster.admins[2]) { $0.filter { $0.status == "alive" }.count == 3 })
        #expect(await AdminClient.send(cluster.admins[0], "PUT", "/v1/epochs/load")?.status == 200)
        // When
        let lsn = try #require(await Self.put(cluster.admins[0], key: 1, epoch: 41))
        // Then
        let awaited = await AdminClient.send(cluster.admins[2], "POST", "/v1/lsn/readers/await",
                                             body: #"{"lsn": "\#(lsn)", "timeout_ms": 5000}"#)
        #expect(awaited?.status == 200 && awaited.flatMap { Self.object($0.body)?["status"] as? String } == "ready")
        #expect(await Self.epoch(cluster.admins[2], key: 1) == 41)
        await cluster.stopAll()
    }

    @Test("given a write load on n2, when n2 is killed with SIGKILL and restarted on its data_dir, then it has every write it acknowledged, gets what n1 wrote meanwhile, and agrees with n1 and n3 on every key")
    func killedNodeKeepsItsAcknowledgedWrites() async throws {
        let cluster = try MembershipTests.Cluster(count: 3, name: "stores-kill")
        try await cluster.startAll()
        #expect(await MembershipTests.eventually(cluster.admins[1]) { $0.filter { $0.status == "alive" }.count == 3 })
        #expect(await AdminClient.send(cluster.admins[1], "PUT", "/v1/epochs/load")?.status == 200)
        let victim = try #require(cluster.agents[1]).process.processIdentifier
        // When: 16 lanes write 3,000 distinct keys on n2; SIGKILL after the 1,000th acknowledgement
        let total = 3_000, lanes = 16
        let acknowledged = Acknowledged()
        let admin = cluster.admins[1]
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    for key in stride(from: lane, to: total, by: lanes) {
                        guard await Self.put(admin, key: key, epoch: UInt64(1_000 + key)) != nil else { continue }
                        let count = acknowledged.keys.withLock { acked in
                            acked.append(key)
                            return acked.count
                        }
                        if count == 1_000 { kill(victim, SIGKILL) }
                    }
                }
            }
        }
        let acked = acknowledged.keys.withLock { $0 }
        _ = await cluster.agents[1]?.waitForExit()
        // Meanwhile n1 writes keys of its own.
        for key in total..<(total + 200) { #expect(await Self.put(cluster.admins[0], key: key, epoch: 7) != nil) }
        try cluster.start(1)
        #expect(await AdminClient.waitForHealth(cluster.admins[1]) != nil)
        // Then: every write n2 acknowledged is on n2 again
        var missing: [Int] = []
        for key in acked where await Self.epoch(cluster.admins[1], key: key) != UInt64(1_000 + key) { missing.append(key) }
        print("stores kill: \(acked.count) writes acknowledged by n2 before and after its SIGKILL, \(missing.count) missing after the restart")
        #expect(acked.count >= 1_000 && acked.count < total)
        #expect(missing.isEmpty, "first missing: \(missing.prefix(5))")
        // ... it catches up with what n1 wrote meanwhile, and all three agree on every key.
        var disagreeing: [Int] = []
        for key in 0..<(total + 200) {
            let agreed = await GroupsCommandTests.eventually {
                let values = [await Self.epoch(cluster.admins[0], key: key), await Self.epoch(cluster.admins[1], key: key),
                              await Self.epoch(cluster.admins[2], key: key)]
                return values[0] == values[1] && values[1] == values[2]
            }
            if !agreed { disagreeing.append(key) }
        }
        #expect(disagreeing.isEmpty, "first keys the nodes disagree on: \(disagreeing.prefix(5))")
        #expect(await Self.epoch(cluster.admins[1], key: total + 199) == 7)
        await cluster.stopAll()
    }
}
