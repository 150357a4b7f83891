import Chorus
import ChorusLoop
import ChorusTestSupport
import Synchronization
import Testing

/// Sealed node-to-node traffic on nodes in this process: who gets in, and rotations under load.
@Suite("Sealed traffic", .serialized, .timeLimit(.minutes(2)))
struct SealedTrafficTests {
    static func eventually(_ condition: () async -> Bool) async -> Bool {
        await MembershipAPITests.eventually(.seconds(10), condition)
    }
    static let key = try! ClusterKey(base64: TestKeys.cluster)
    static let other = try! ClusterKey(base64: TestKeys.other)

    static func node(_ name: String, port: UInt16, seeds: [UInt16], cluster: String = "sealed", keyring: Keyring?,
                     dataDir: String? = nil) throws -> ClusterNode {
        var settings = NodeSettings(cluster: cluster, name: name, bind: try SocketAddress(host: "127.0.0.1", port: port),
                                    seeds: try seeds.map { try SocketAddress(host: "127.0.0.1", port: $0) },
                                    dataDir: try dataDir ?? scratchDirectory(), profile: .local)
        settings.keyring = keyring
        return try ClusterNode(settings: settings)
    }

    /// Whether the key is still rotating (the broadcasting tasks go on until it is not).
    final class Rotating: Sendable {
        let going = Atomic<Bool>(true)
    }

    static func alive(_ node: ClusterNode) async -> [String] {
        await node.members().filter { $0.state.status == .alive }.map(\.id.name)
    }

    @Test("given two nodes sealed with the cluster key, then a node with another key, one of another cluster name and one without a key all stay outside: they see no one and no one lists them")
    func strangersStayOutside() async throws {
        let ports = try FreePorts.take(5)
        let a = try Self.node("a", port: ports[0], seeds: [], keyring: Keyring(primary: Self.key))
        let b = try Self.node("b", port: ports[1], seeds: [ports[0]], keyring: Keyring(primary: Self.key))
        let wrongKey = try Self.node("wrong-key", port: ports[2], seeds: [ports[0], ports[1]], keyring: Keyring(primary: Self.other))
        let wrongName = try Self.node("wrong-name", port: ports[3], seeds: [ports[0], ports[1]], cluster: "elsewhere",
                                      keyring: Keyring(primary: Self.key))
        let noKey = try Self.node("no-key", port: ports[4], seeds: [ports[0], ports[1]], keyring: nil)
        let nodes = [a, b, wrongKey, wrongName, noKey]
        for node in nodes { try await node.start() }
        #expect(await Self.eventually {
            let (seenByA, seenByB) = (await Self.alive(a), await Self.alive(b))
            return seenByA == ["a", "b"] && seenByB == ["a", "b"]
        })
        // Given time for many probe rounds and redials of the seeds
        try await Task.sleep(for: .seconds(3))
        // Then
        #expect(await a.members().map(\.id.name) == ["a", "b"])
        #expect(await b.members().map(\.id.name) == ["a", "b"])
        for stranger in [wrongKey, wrongName, noKey] {
            #expect(await stranger.members().map(\.id.name) == [stranger.settings.name], "\(stranger.settings.name) sees no one")
            #expect(await stranger.connectedPeers().isEmpty, "\(stranger.settings.name) has no link")
        }
        #expect(await a.connectedPeers().map(\.name) == ["b"])
        // The strangers cannot join a group either: a's groups never hear of their members.
        let intruder = wrongKey.makeMember()
        try await wrongKey.join(scope: "jobs", group: "g", intruder)
        try await Task.sleep(for: .milliseconds(500))
        #expect(await a.members(scope: "jobs", group: "g").isEmpty)
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given a running 3-node cluster with acknowledged broadcasts going, when the key is rotated (install, use, remove on every node), then no broadcast is lost and the nodes end sealing with the new key alone")
    func rotationUnderTraffic() async throws {
        let ports = try FreePorts.take(3)
        let nodes = try ports.indices.map { index in
            try Self.node("n\(index + 1)", port: ports[index], seeds: index == 0 ? [] : [ports[0]], keyring: Keyring(primary: Self.key))
        }
        for node in nodes { try await node.start() }
        for node in nodes { #expect(await Self.eventually { await Self.alive(node).count == 3 }) }
        let deliveries = EmitterTests.Deliveries()
        let onTwo = EmitterTests.recordingMember(nodes[1], deliveries), onThree = EmitterTests.recordingMember(nodes[2], deliveries)
        try await nodes[1].joinEmitters(store: "s", subscription: "x", onTwo)
        try await nodes[2].joinEmitters(store: "s", subscription: "x", onThree)
        #expect(await Self.eventually { await nodes[0].emitters(store: "s", subscription: "x").count == 2 })
        // When: broadcasts from n1 to the emitters of n2 and n3 all along, while the key rotates
        let outcomes = EmitterTests.Outcomes()
        let rotating = Rotating()
        async let traffic: Void = withTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    var k = 0
                    while rotating.going.load(ordering: .relaxed) || k < 50 {
                        k += 1
                        do throws(EmitterError) {
                            try await nodes[0].broadcastAcknowledged(store: "s", subscription: "x", event: EmitterTests.event("e\(lane)-\(k)"),
                                                                     timeout: .seconds(10), attemptTimeout: .milliseconds(500))
                            outcomes.acked.withLock { $0.append("e\(lane)-\(k)") }
                        } catch {
                            outcomes.failures.withLock { $0.append(error) }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        for node in nodes { #expect(try await node.installKey(Self.other)) }
        try await Task.sleep(for: .milliseconds(300))
        for node in nodes { #expect(try await node.useKey(Self.other)) }
        try await Task.sleep(for: .milliseconds(300))
        for node in nodes { try await node.removeKey(Self.key) }
        try await Task.sleep(for: .milliseconds(300))
        rotating.going.store(false, ordering: .relaxed)
        await traffic
        // Then
        let delivered = Set(deliveries.all.map(\.id))
        let acked = outcomes.acked.withLock { $0 }
        let failed = outcomes.failures.withLock { $0 }
        print("rotationUnderTraffic: \(acked.count) acknowledged, \(failed.count) failed, \(deliveries.count) deliveries")
        #expect(failed.isEmpty, "\(failed.prefix(3))")
        #expect(acked.count >= 400)
        #expect(acked.filter { !delivered.contains($0) }.isEmpty, "every acknowledged broadcast was delivered")
        for node in nodes {
            #expect(node.keyringStatus() == KeyringStatus(insecure: false, primary: Self.other.id, keys: [Self.other.id]))
            #expect(await Self.alive(node).count == 3, "no link or member was lost to the rotation")
        }
        for node in nodes.reversed() { await node.stop() }
    }

    @Test("given a node whose keyring was rotated, when it restarts on its data_dir, then it seals with the saved keyring, not the settings' old key, and rejoins the rotated cluster")
    func rotationSurvivesRestart() async throws {
        let ports = try FreePorts.take(2)
        let dirs = try [scratchDirectory(), scratchDirectory()]
        let a = try Self.node("a", port: ports[0], seeds: [], keyring: Keyring(primary: Self.key), dataDir: dirs[0])
        var b = try Self.node("b", port: ports[1], seeds: [ports[0]], keyring: Keyring(primary: Self.key), dataDir: dirs[1])
        for node in [a, b] { try await node.start() }
        for node in [a, b] {
            _ = try await node.installKey(Self.other)
            _ = try await node.useKey(Self.other)
            try await node.removeKey(Self.key)
        }
        await b.stop()
        // When: b starts again with the settings' first key
        b = try Self.node("b", port: ports[1], seeds: [ports[0]], keyring: Keyring(primary: Self.key), dataDir: dirs[1])
        try await b.start()
        // Then
        #expect(b.keyringStatus().primary == Self.other.id)
        #expect(await Self.eventually {
            let (seenByA, seenByB) = (await Self.alive(a), await Self.alive(b))
            return seenByA.count == 2 && seenByB.count == 2
        })
        // And a keyring change a node cannot make is refused with nothing changed
        await #expect(throws: KeyringError.removingPrimary(Self.other.id)) { try await b.removeKey(Self.other) }
        await #expect(throws: KeyringError.unknownKey(Self.key.id)) { try await b.useKey(Self.key) }
        #expect(b.keyringStatus().keys == [Self.other.id])
        for node in [b, a] { await node.stop() }
    }
}
