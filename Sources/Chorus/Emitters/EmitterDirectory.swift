import Atomics
import ChorusWire
import Synchronization

/// What a broadcast reads, from any thread, without a lock: the distinct members of every emitter
/// group, and the endpoints of this node's members among them. The groups shell publishes a new
/// directory (one atomic swap) after each input that changed an emitter group or such a member.
final class EmitterDirectory: Sendable {
    final class Snapshot: AtomicReference, Sendable {
        let groups: [String: [GroupMemberID]]
        let endpoints: [UInt64: MemberEndpoint]

        init(groups: [String: [GroupMemberID]], endpoints: [UInt64: MemberEndpoint]) {
            self.groups = groups
            self.endpoints = endpoints
        }
    }

    private let current = ManagedAtomic(Snapshot(groups: [:], endpoints: [:]))
    /// The state of a SplitMix64 sequence shared by all broadcasting threads: one atomic add per pick.
    private let randomState: Atomic<UInt64>

    init(seed: UInt64) {
        randomState = Atomic(seed)
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
