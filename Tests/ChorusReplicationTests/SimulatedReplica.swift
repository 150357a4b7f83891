import ChorusCore
import ChorusReplication
import ChorusSimulation
import ChorusWire

/// What simulated replicas send each other.
enum ReplicaPacket {
    /// "I am `uid` at this address": the simulated link setup; a new uid at an address replaces the
    /// old (the node restarted).
    case hello(NodeUID)
    case replication(from: NodeUID, ReplicationMessageKind, [UInt8])
}

/// A replica in the simulator: the replication core, plus what the shell does around it (links,
/// ticks, and a disk that commits every `commitInterval`).
///
/// Writes are acknowledged when a commit takes them, as the real shell acknowledges after SQLite's
/// commit; a crash loses what was not committed, and a restart starts a new uid from what was.
struct SimulatedReplica: SimulatedNode {
    typealias Message = ReplicaPacket

    static let commitInterval: Duration = .milliseconds(5)

    var instance: TestInstance
    let others: [SimAddress]
    var uidAt: [SimAddress: NodeUID] = [:]
    /// What the disk holds.
    private(set) var persisted: TestState
    /// Writes made since the last commit.
    private var uncommitted: [TestDelta] = []
    /// Writes committed, not yet collected by the test.
    var acknowledged: [TestDelta] = []
    private var nextCommitAt: VirtualTime = .zero

    init(address: SimAddress, count: Int, random: inout SimulationRandom, restored: TestState, settings: ReplicationSettings) {
        others = (0..<count).map(SimAddress.init(index:)).filter { $0 != address }
        instance = TestInstance(origin: NodeUID.random(using: &random), settings: settings, restored: restored, now: .zero)
        persisted = restored
    }

    mutating func write(_ key: TestKey, _ value: TestValue?, effects: inout Effects<ReplicaPacket>) -> TestDelta {
        let delta = instance.write(key, value, now: effects.now)
        uncommitted.append(delta)
        flush(&effects)
        return delta
    }

    mutating func receive(_ message: ReplicaPacket, from sender: SimAddress, at now: VirtualTime, effects: inout Effects<ReplicaPacket>) {
        switch message {
        case let .hello(uid):
            if let old = uidAt[sender], old != uid { instance.peerDown(old) }
            if uidAt[sender] != uid {
                uidAt[sender] = uid
                instance.peerUp(uid)
                effects.send(.hello(instance.origin), to: sender, transport: .reliable)
            }
        case let .replication(uid, kind, payload):
            guard uidAt[sender] == uid else { return }  // from a run of that node this one has not linked with
            try! payload.withUnsafeBytes { bytes in
                try instance.receive(kind, payload: bytes, from: uid, now: now)
            }
        }
        flush(&effects)
    }

    mutating func wake(at now: VirtualTime, effects: inout Effects<ReplicaPacket>) {
        if now >= nextCommitAt {
            persisted = instance.state
            acknowledged += uncommitted
            uncommitted.removeAll()
            nextCommitAt = now + Self.commitInterval
            // Links not up yet are tried again (a hello lost to a partition).
            for peer in others where uidAt[peer] == nil { effects.send(.hello(instance.origin), to: peer, transport: .reliable) }
        }
        instance.tick(now: now)
        flush(&effects)
        effects.wake(at: min(instance.nextDeadline, nextCommitAt))
    }

    mutating func undeliverable(_ message: ReplicaPacket, to peer: SimAddress, reason: DeliveryFailure, at now: VirtualTime,
                                effects: inout Effects<ReplicaPacket>) {
        if case .hello = message, reason == .refused, let old = uidAt[peer] {
            instance.peerDown(old)
            uidAt[peer] = nil
        }
    }

    /// Carries out the core's directives: messages as datagrams (so they meet loss, duplication and
    /// reordering), snapshots part by part.
    private mutating func flush(_ effects: inout Effects<ReplicaPacket>) {
        for directive in instance.takeDirectives() {
            switch directive {
            case let .send(kind, payload, peers):
                for peer in peers {
                    guard let address = uidAt.first(where: { $0.value == peer })?.key else { continue }
                    effects.send(.replication(from: instance.origin, kind, payload), to: address)
                }
            case .sendSnapshot(var writer, let peer):
                if let address = uidAt.first(where: { $0.value == peer })?.key {
                    while let part = writer.nextPart() {
                        effects.send(.replication(from: instance.origin, .snapshotPart, part), to: address)
                    }
                }
                instance.snapshotDone(to: peer)
            }
        }
        _ = instance.takeChanges()
    }
}
