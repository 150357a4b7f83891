import Chorus
import ChorusExamples
import ChorusTestSupport
import Synchronization
import Testing

/// The embedding example (Examples/EmitterExample) run as users run it, with its outcomes checked.
@Suite("Embedding example", .timeLimit(.minutes(1)))
struct EmitterExampleTests {
    @Test("given the emitter example on two in-process nodes, when alpha broadcasts, then every event reaches exactly one emitter, over both paths, and the acknowledged ones have receipts")
    func emitterExample() async throws {
        let ports = try FreePorts.take(2)
        let events = 1_000, acknowledged = 5
        let lines = Mutex<[String]>([])
        // When
        let summary = try await runEmitterExample(alphaPort: ports[0], betaPort: ports[1], events: events,
                                                  acknowledged: acknowledged) { line in lines.withLock { $0.append(line) } }
        // Then: what was sent
        let sent = summary.sentEventIDs
        #expect(summary.broadcastIDs.count == events)
        #expect(summary.acknowledged.count == acknowledged)
        #expect(Set(sent).count == sent.count, "every event has its own id")
        // every event reached exactly one emitter
        var deliveries: [String: Int] = [:]
        for tally in summary.emitters {
            #expect(tally.local + tally.remote == tally.eventIDs.count)
            for id in tally.eventIDs { deliveries[id, default: 0] += 1 }
        }
        #expect(Set(deliveries.keys) == Set(sent), "nothing lost, nothing unknown")
        #expect(deliveries.values.allSatisfy { $0 == 1 }, "no event delivered twice")
        // both paths were used: alpha's emitter in-process only, beta's over the link only
        let alpha = try #require(summary.emitters.first { $0.node == "alpha" })
        let beta = try #require(summary.emitters.first { $0.node == "beta" })
        #expect(alpha.local > 0 && alpha.remote == 0)
        #expect(beta.remote > 0 && beta.local == 0)
        // the fire-and-forget receipts agree with what the emitters counted
        #expect(summary.receiptsLocal + summary.receiptsRemote == events)
        let plain = Set(summary.broadcastIDs)
        #expect(summary.receiptsLocal == alpha.eventIDs.filter { plain.contains($0) }.count)
        #expect(summary.receiptsRemote == beta.eventIDs.filter { plain.contains($0) }.count)
        // each acknowledged event's receipt names the emitter that got it, and the path it took
        for entry in summary.acknowledged {
            let taker = try #require(summary.emitters.first { $0.member == entry.receipt.member }, "\(entry.eventID)")
            #expect(taker.eventIDs.contains(entry.eventID))
            #expect(entry.receipt.path == (taker.node == "alpha" ? .local : .remote))
        }
        // reckon_db's emitter names, recorded on each node
        #expect(summary.emitterNames == ["alpha": ["orders_billing_emitter", "orders_billing_emitter_2"],
                                         "beta": ["orders_billing_emitter", "orders_billing_emitter_2"]])
        // and the run told its story, ending with both nodes stopped
        #expect(lines.withLock { $0.last } == "both nodes left the cluster and stopped")
    }
}
