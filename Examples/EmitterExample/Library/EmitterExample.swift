// Embedding Chorus: two nodes in one process, an emitter group across them, and a broadcast.
//
// The story, top to bottom in `runEmitterExample`:
//  1. start node "alpha" and node "beta" on 127.0.0.1, beta seeded with alpha;
//  2. wait until each node sees both alive;
//  3. on each node, make an emitter (a group member with a handler) and join it to the emitter
//     group of store "orders", subscription "billing"; record reckon_db's emitter names;
//  4. wait until both nodes list the two emitters;
//  5. broadcast events from alpha: each goes to ONE emitter chosen at random, in-process when it
//     is alpha's own emitter, over the node-to-node link when it is beta's;
//  6. broadcast a few more with acknowledgement (returns once an emitter has the event);
//  7. wait until every event has arrived, report, and stop both nodes cleanly.

import Chorus
import Foundation  // a temporary data directory
import Logging
import Synchronization

/// The store and subscription whose emitter group the example uses (reckon_db's terms).
public let exampleStore = "orders"
public let exampleSubscription = "billing"

/// What the example saw: returned so that you (or a test) can check it.
public struct ExampleSummary: Sendable {
    /// One emitter's view: what it received and by which path.
    public struct EmitterTally: Sendable {
        /// The node the emitter lives on.
        public var node: String
        public var member: GroupMemberID
        /// Events handed over inside the process (the broadcaster was on the same node).
        public var local: Int
        /// Events that came over a node-to-node link.
        public var remote: Int
        /// The ids of the events it received, in arrival order (a duplicate would show twice).
        public var eventIDs: [String]
    }

    /// One acknowledged broadcast and its receipt: which emitter took it, by which path.
    public struct AcknowledgedEvent: Sendable {
        public var eventID: String
        public var receipt: BroadcastReceipt
    }

    /// The emitter names each node recorded (`persistEmitters`), by node.
    public var emitterNames: [String: [String]]
    /// The ids of the events sent with plain `broadcast` (fire and forget).
    public var broadcastIDs: [String]
    /// What the receipts of those broadcasts said: how many went in-process, how many over a link.
    public var receiptsLocal: Int
    public var receiptsRemote: Int
    /// The events sent with `broadcastAcknowledged`, with their receipts.
    public var acknowledged: [AcknowledgedEvent]
    /// Each emitter's tally, alpha's first.
    public var emitters: [EmitterTally]

    /// Every event the example sent.
    public var sentEventIDs: [String] { broadcastIDs + acknowledged.map(\.eventID) }
}

/// The example stopped short.
public enum ExampleError: Error, CustomStringConvertible {
    case timedOut(waitingFor: String)

    public var description: String {
        switch self {
        case .timedOut(let what): "timed out waiting for \(what)"
        }
    }
}

/// Runs the example: alpha listens on `alphaPort`, beta on `betaPort` (UDP and TCP each), both on
/// 127.0.0.1. Sends `events` plain broadcasts and `acknowledged` acknowledged ones from alpha,
/// and tells what happens through `log`, one line at a time.
public func runEmitterExample(alphaPort: UInt16, betaPort: UInt16, events: Int = 1_000, acknowledged: Int = 5,
                              log: (String) -> Void) async throws -> ExampleSummary {
    // A node keeps its durable state in a data directory; this run's goes away at the end.
    let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-example-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dataDir) }

    // 1. Two nodes. Profile `.local` has fast timers, meant for nodes on one machine.
    let alpha = try makeNode("alpha", port: alphaPort, seeds: [], dataDir: dataDir + "/alpha")
    let beta: ClusterNode
    do {
        beta = try makeNode("beta", port: betaPort, seeds: [alpha.settings.bind], dataDir: dataDir + "/beta")
    } catch {
        await alpha.stop()
        throw error
    }
    do {
        try await alpha.start()
        try await beta.start()  // beta joins the cluster through its seed, alpha
        log("started alpha on \(alpha.settings.bind) and beta on \(beta.settings.bind)")

        // 2. Membership is gossip: wait until each node sees both alive before relying on it.
        for node in [alpha, beta] {
            try await waitUntil("\(node.settings.name) to see both nodes alive") {
                await node.members().filter { $0.state.status == .alive }.count == 2
            }
        }
        log("both nodes see alpha and beta alive")

        // 3. One emitter per node. A handler runs on the thread that delivers (the broadcaster's
        //    for in-process events, the node's data loop for remote ones), so it only counts, under a lock.
        let alphaCount = EmitterCount(), betaCount = EmitterCount()
        let alphaEmitter = alpha.makeMember { message in alphaCount.record(message) }
        let betaEmitter = beta.makeMember { message in betaCount.record(message) }
        try await alpha.joinEmitters(store: exampleStore, subscription: exampleSubscription, alphaEmitter)
        try await beta.joinEmitters(store: exampleStore, subscription: exampleSubscription, betaEmitter)

        // reckon_db names a subscription's pool of emitter workers; each node keeps its own record
        // (`persistEmitters` writes it, `retrieveEmitters` reads it back without a lock).
        var emitterNames: [String: [String]] = [:]
        for node in [alpha, beta] {
            node.persistEmitters(store: exampleStore, subscription: exampleSubscription, poolSize: 2)
            let names = node.retrieveEmitters(store: exampleStore, subscription: exampleSubscription)
            emitterNames[node.settings.name] = names
            log("\(node.settings.name) recorded emitter names \(names.joined(separator: ", "))")
        }

        // 4. A join reaches the other node as a message over their link, a moment later: wait
        //    until both nodes list both emitters.
        for node in [alpha, beta] {
            try await waitUntil("\(node.settings.name) to list 2 emitters") {
                await node.emitters(store: exampleStore, subscription: exampleSubscription).count == 2
            }
        }
        log("both nodes list 2 emitters of \(exampleStore)/\(exampleSubscription)")

        // 5. Fire and forget: each event goes to one emitter picked at random; the receipt says
        //    which one and by which path. `broadcast` does not wait for a remote emitter.
        var broadcastIDs: [String] = []
        var receiptsLocal = 0, receiptsRemote = 0
        for n in 0..<events {
            let event = orderPlaced(n + 1)
            let receipt = try alpha.broadcast(store: exampleStore, subscription: exampleSubscription, event: event)
            if receipt.path == .local { receiptsLocal += 1 } else { receiptsRemote += 1 }
            broadcastIDs.append(event.eventID)
        }
        log("alpha broadcast \(broadcastIDs.count) events: \(receiptsLocal) to its own emitter, \(receiptsRemote) to beta's")

        // 6. Acknowledged: returns once an emitter has the event (a remote one's node acks it); if
        //    that node fails first, the event is retried on another emitter.
        var acknowledgedEvents: [ExampleSummary.AcknowledgedEvent] = []
        for n in 0..<acknowledged {
            let event = orderPlaced(events + n + 1)
            let receipt = try await alpha.broadcastAcknowledged(store: exampleStore, subscription: exampleSubscription,
                                                                event: event)
            acknowledgedEvents.append(.init(eventID: event.eventID, receipt: receipt))
            let owner = receipt.member == alphaEmitter.id ? "alpha's" : "beta's"
            log("acknowledged \(event.eventID): taken by \(owner) emitter, \(receipt.path) path")
        }

        // 7. Remote deliveries of plain broadcasts may still be in flight: wait for all of them.
        let sent = broadcastIDs.count + acknowledgedEvents.count
        try await waitUntil("\(sent) events to reach the emitters") {
            alphaCount.total + betaCount.total >= sent
        }
        let tallies = [alphaCount.tally(node: "alpha", member: alphaEmitter.id),
                       betaCount.tally(node: "beta", member: betaEmitter.id)]
        for tally in tallies {
            log("\(tally.node)'s emitter received \(tally.eventIDs.count) events: \(tally.local) local, \(tally.remote) remote")
        }
        log("\(sent) events sent, \(tallies.reduce(0) { $0 + $1.eventIDs.count }) received")

        // Stop cleanly: end the emitters (they leave their group), then each node leaves the
        // cluster (its peers record it as `left`, not dead) and closes its sockets and threads.
        alphaEmitter.terminate()
        betaEmitter.terminate()
        for node in [beta, alpha] {
            await node.leave()
            await node.stop()
        }
        log("both nodes left the cluster and stopped")

        return ExampleSummary(emitterNames: emitterNames, broadcastIDs: broadcastIDs, receiptsLocal: receiptsLocal,
                              receiptsRemote: receiptsRemote, acknowledged: acknowledgedEvents, emitters: tallies)
    } catch {
        // Whatever went wrong, close both nodes (stop is idempotent).
        await beta.stop()
        await alpha.stop()
        throw error
    }
}

/// A node of the example's cluster on 127.0.0.1. Its log shows warnings and errors only, so the
/// example's own lines stand out.
private func makeNode(_ name: String, port: UInt16, seeds: [SocketAddress], dataDir: String) throws -> ClusterNode {
    var logger = Logger(label: "chorus-example")
    logger.logLevel = .warning
    let settings = NodeSettings(cluster: "example", name: name, bind: try SocketAddress(host: "127.0.0.1", port: port),
                                seeds: seeds, dataDir: dataDir, profile: .local)
    return try ClusterNode(settings: settings, logger: logger)
}

/// An event as reckon_db stores it: an id, a type, the stream it belongs to, its version in that
/// stream, and an opaque payload (JSON here).
private func orderPlaced(_ n: Int) -> EmitterEvent {
    let now = Date().timeIntervalSince1970
    return EmitterEvent(eventID: "evt-\(n)", eventType: "OrderPlaced", streamID: "order-\(n)", version: 0,
                        data: Array(#"{"order_id":\#(n),"amount_cents":\#(1_000 + n)}"#.utf8),
                        timestamp: Int64(now * 1_000), epochMicros: Int64(now * 1_000_000))
}

/// What one emitter received, counted by its handler.
private final class EmitterCount: Sendable {
    private struct State {
        var local = 0, remote = 0
        var eventIDs: [String] = []
    }
    private let state = Mutex(State())

    func record(_ message: GroupMessage) {
        guard let event = message.event else { return }
        state.withLock {
            if message.path == .local { $0.local += 1 } else { $0.remote += 1 }
            $0.eventIDs.append(event.eventID)
        }
    }

    var total: Int { state.withLock { $0.eventIDs.count } }

    func tally(node: String, member: GroupMemberID) -> ExampleSummary.EmitterTally {
        state.withLock { .init(node: node, member: member, local: $0.local, remote: $0.remote, eventIDs: $0.eventIDs) }
    }
}

/// Checks `condition` every 20 ms until it holds; throws after `timeout`.
private func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else { throw ExampleError.timedOut(waitingFor: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}
