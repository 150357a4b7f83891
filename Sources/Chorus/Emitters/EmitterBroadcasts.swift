import ChorusLoop
import ChorusWire

/// Why a broadcast did not go out.
public enum EmitterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The emitter group has no member anywhere in the cluster (reckon_db: `{error, no_emitters}`).
    case noEmitters
    /// Acknowledged mode: no member accepted the event before the timeout, after `attempts` tries.
    case notAcknowledged(attempts: Int)
    /// The node has stopped.
    case nodeStopped
    /// The event breaks the wire's limits (a field too long, too many tags, too large for a frame).
    case invalidEvent(String)

    public var description: String {
        switch self {
        case .noEmitters: "no emitters: the group has no member"
        case .notAcknowledged(let attempts): "no member acknowledged the event in time (\(attempts) attempts)"
        case .nodeStopped: "the node has stopped"
        case .invalidEvent(let reason): "invalid event: \(reason)"
        }
    }
}

/// Who got a broadcast event, and how.
public struct BroadcastReceipt: Sendable, Equatable {
    public var member: GroupMemberID
    public var path: DeliveryPath

    public init(member: GroupMemberID, path: DeliveryPath) {
        self.member = member
        self.path = path
    }
}

/// The acknowledged broadcasts of a node, on the data loop: events waiting for a member's ack,
/// and, on the receiving side, the duplicate filter.
///
/// Rules (at-least-once delivery to some member of the group):
/// - an event goes to a member chosen uniformly among the group's distinct members; a local
///   member takes it in-process, which is its acceptance;
/// - a remote member's node answers with an ack once the member has the event (or refuses when
///   the member is gone); without an answer within the attempt timeout, with a refusal, or when
///   membership reports that node down, the event goes to another member, preferring members not
///   tried yet, until the overall timeout;
/// - a receiving node drops an event whose id it delivered to the same group among the last
///   `duplicateWindow` acknowledged events, and acks it again: a retry after a lost ack delivers
///   once. Without acks (plain `broadcast`) nothing is retried and nothing is filtered.
final class EmitterBroadcasts {
    private struct Pending {
        var event: EmitterEvent
        var group: String
        var member: GroupMemberID
        var tried: Set<GroupMemberID>
        var attempts: Int
        var startedAtNanos: UInt64
        var giveUpAtNanos: UInt64
        var attemptTimeoutMillis: UInt64
        var timer: LoopTimer?
        var done: (Result<BroadcastReceipt, EmitterError>) -> Void
    }

    /// Event ids remembered per emitter group on the receiving side.
    static let duplicateWindow = 65_536

    private let loop: EventLoop
    /// The shell that owns this object (unowned(unsafe): read per delivery, and it always outlives us).
    private unowned(unsafe) let shell: GroupsShell
    /// The loop's counts (`GroupsShell.broadcastFigures` adds the broadcasters' threads').
    var figures = BroadcastFigures()
    private var pending: [UInt64: Pending] = [:]
    private var nextAckID: UInt64 = 0
    private var recent: [String: DuplicateWindow] = [:]
    /// The defect `InjectedDefect.ackWithoutDelivery` (`debug_faults` only): deliveries from peers
    /// are acknowledged and never handed to the member.
    var acksWithoutDelivery = false

    init(loop: EventLoop, shell: GroupsShell) {
        self.loop = loop
        self.shell = shell
    }

    // MARK: Sending side

    /// Starts an acknowledged broadcast; `done` is called once, on the loop.
    func start(event: EmitterEvent, group: String, timeout: Duration, attemptTimeout: Duration,
               done: @escaping (Result<BroadcastReceipt, EmitterError>) -> Void) {
        loop.preconditionInLoop()
        nextAckID += 1
        let id = nextAckID
        let now = EventLoop.monotonicNanos()
        pending[id] = Pending(event: event, group: group, member: GroupMemberID(node: shell.node, serial: 0), tried: [],
                              attempts: 0, startedAtNanos: now, giveUpAtNanos: now + UInt64(max(0, timeout.nanoseconds)),
                              attemptTimeoutMillis: UInt64(max(1, attemptTimeout.nanoseconds / 1_000_000)), timer: nil, done: done)
        attempt(id)
    }

    /// Sends pending event `id` to a member, or finishes it.
    private func attempt(_ id: UInt64) {
        guard var entry = pending[id] else { return }
        entry.timer?.cancel()
        let now = EventLoop.monotonicNanos()
        let members = shell.distinctEmitters(entry.group)
        guard !members.isEmpty else {
            finish(id, entry.attempts == 0 ? .failure(.noEmitters) : .failure(.notAcknowledged(attempts: entry.attempts)))
            return
        }
        guard entry.attempts == 0 || now < entry.giveUpAtNanos else {
            finish(id, .failure(.notAcknowledged(attempts: entry.attempts)))
            return
        }
        let fresh = members.filter { !entry.tried.contains($0) }
        let choices = fresh.isEmpty ? members : fresh
        let member = choices[shell.directory.randomIndex(below: choices.count)]
        entry.member = member
        entry.tried.insert(member)
        if entry.attempts > 0 { figures.retries += 1 }
        entry.attempts += 1
        if member.node == shell.node {
            pending[id] = entry
            let accepted = shell.deliverEvent(entry.event, to: member, from: shell.node, path: .local)
            if accepted { finish(id, .success(BroadcastReceipt(member: member, path: .local))) } else { attempt(id) }
            return
        }
        guard shell.sendEvent(entry.event, group: entry.group, to: member, ackID: id) else {
            pending[id] = entry
            attempt(id) // its node is no longer a peer
            return
        }
        let remainingMillis = entry.giveUpAtNanos > now ? (entry.giveUpAtNanos - now) / 1_000_000 : 0
        entry.timer = loop.scheduleTimer(afterMillis: max(1, min(entry.attemptTimeoutMillis, remainingMillis))) { [weak self] _ in
            self?.attempt(id)
        }
        pending[id] = entry
    }

    private func finish(_ id: UInt64, _ result: Result<BroadcastReceipt, EmitterError>) {
        guard let entry = pending.removeValue(forKey: id) else { return }
        entry.timer?.cancel()
        switch result {
        case .success(let receipt):
            if receipt.path == .local { figures.localEvents += 1 } else { figures.remoteEvents += 1 }
            figures.ackLatency.record(nanos: EventLoop.monotonicNanos() &- entry.startedAtNanos)
        case .failure(.noEmitters): figures.noEmitters += 1
        case .failure(.notAcknowledged): figures.notAcknowledged += 1
        case .failure: break
        }
        entry.done(result)
    }

    /// A node's answer to one of our deliveries.
    func received(_ ack: EmitterAck, from peer: NodeUID) {
        guard let entry = pending[ack.ackID], entry.member.node == peer else { return }
        if ack.accepted { figures.acksAccepted += 1 } else { figures.acksRefused += 1 }
        if ack.accepted {
            finish(ack.ackID, .success(BroadcastReceipt(member: entry.member, path: .remote)))
        } else {
            attempt(ack.ackID)
        }
    }

    /// Membership reports `node` down: events waiting on it go elsewhere now.
    func nodeDown(_ node: NodeUID) {
        for id in pending.keys.sorted() where pending[id]!.member.node == node { attempt(id) }
    }

    /// The node stops: every waiting broadcast fails.
    func stop() {
        for id in pending.keys.sorted() { finish(id, .failure(.nodeStopped)) }
        recent = [:]
    }

    // MARK: Receiving side

    /// An event from `peer` for one of our members: delivered unless a duplicate, and acked when asked.
    func received(_ delivery: EmitterDelivery, from peer: NodeUID) -> EmitterAck? {
        guard delivery.ackID != 0 else {
            _ = shell.deliverEvent(delivery.event, to: delivery.to, from: peer, path: .remote)
            return nil
        }
        if acksWithoutDelivery || recent[delivery.group]?.contains(delivery.event.eventID) == true {
            return EmitterAck(ackID: delivery.ackID, accepted: true)
        }
        let accepted = shell.deliverEvent(delivery.event, to: delivery.to, from: peer, path: .remote)
        if accepted { recent[delivery.group, default: DuplicateWindow(capacity: Self.duplicateWindow)].insert(delivery.event.eventID) }
        return EmitterAck(ackID: delivery.ackID, accepted: accepted)
    }
}

/// The last `capacity` ids seen, oldest forgotten first.
struct DuplicateWindow {
    private var ids: Set<String> = []
    private var order: [String] = []
    private var oldest = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ id: String) -> Bool { ids.contains(id) }

    mutating func insert(_ id: String) {
        guard ids.insert(id).inserted else { return }
        if order.count < capacity {
            order.append(id)
        } else {
            ids.remove(order[oldest])
            order[oldest] = id
            oldest = (oldest + 1) % capacity
        }
    }
}
