import Atomics
import ChorusWire
import Synchronization

/// What the hot paths read, from any thread, without a lock: for broadcast, the distinct members
/// of every emitter group and the endpoints of this node's members among them, by subscription
/// (no group name is built per broadcast); for publish, each
/// topic's local subscribers and the other nodes that have subscribers. The groups shell
/// publishes a new snapshot (one atomic swap) once per loop iteration in which any of it
/// changed, rebuilding only the routes of the groups that changed.
final class GroupDirectory: Sendable {
    final class Snapshot: AtomicReference, Sendable {
        /// Each subscription's emitter group.
        let emitters: EmitterTable
        /// Topic -> where its subscribers are.
        let topics: [String: TopicRoute]
        /// Set by the node's stop: broadcast and publish answer `nodeStopped`.
        let stopped: Bool

        init(emitters: EmitterTable = EmitterTable([], basis: 0), topics: [String: TopicRoute] = [:], stopped: Bool = false) {
            self.emitters = emitters
            self.topics = topics
            self.stopped = stopped
        }
    }

    /// Where a topic's subscribers are: this node's (each once, however often it subscribed), and
    /// the other nodes with at least one.
    struct TopicRoute: Sendable {
        var local: [(id: GroupMemberID, endpoint: MemberEndpoint)] = []
        var remoteNodes: [NodeUID] = []
    }

    private let current = ManagedAtomic(Snapshot())
    /// The state of a SplitMix64 sequence shared by all broadcasting threads: one atomic add per pick.
    private let randomState: Atomic<UInt64>

    /// The basis of every snapshot's emitter table hash, random per process.
    let hashBasis: UInt64

    init(seed: UInt64, hashBasis: UInt64) {
        randomState = Atomic(seed)
        self.hashBasis = hashBasis
    }

    var snapshot: Snapshot { current.load(ordering: .acquiring) }

    func publish(_ snapshot: Snapshot) {
        current.store(snapshot, ordering: .releasing)
    }

    /// A uniformly random index below `count` (Lemire's multiply-shift on a SplitMix64 output;
    /// the bias is below count / 2^64).
    func randomIndex(below count: Int) -> Int {
        var z = randomState.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z.multipliedFullWidth(by: UInt64(count)).high)
    }
}
