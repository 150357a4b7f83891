import ChorusCore

/// Faults injected into this node's traffic with its peers, for chaos tests (`debug_faults` on).
/// Peers are named, not addressed.
///
/// Rules:
/// - `dropInbound` peers: their membership datagrams and every frame of their node-to-node links
///   (membership syncs, groups, broadcasts, replication) are dropped on arrival, once the link's
///   hello has named its peer;
/// - `dropOutbound` peers: nothing is sent to them, datagrams and link frames alike (the hello
///   still goes, so a link stands and only its traffic is cut);
/// - `loss` and `delayMillis` apply to every other outbound *membership* message only: the links
///   are TCP, which neither loses nor reorders what it carries;
/// - `defects` make the node break its own guarantees on purpose (see `InjectedDefect`), so a
///   chaos run can prove that its checker fails when a guarantee is broken.
///
/// Pure: the caller passes the random source, so a decision is reproducible.
public struct InjectedFaults: Sendable, Equatable {
    public private(set) var dropInbound: Set<String>
    public private(set) var dropOutbound: Set<String>
    /// Probability, from 0 to 1, that an outbound membership message is lost.
    public private(set) var loss: Double
    /// Delay added to every outbound membership message that is not lost.
    public private(set) var delayMillis: UInt64
    public private(set) var defects: Set<InjectedDefect>

    /// What to do with one outbound membership message.
    public enum Verdict: Sendable, Equatable {
        case drop
        case deliver(afterMillis: UInt64)
    }

    /// No fault: everything goes through at once.
    public static let none = InjectedFaults()

    private init() {
        dropInbound = []
        dropOutbound = []
        loss = 0
        delayMillis = 0
        defects = []
    }

    /// Checks each value: `loss` from 0 to 1, `delayMillis` from 0 to 60 000, names not empty.
    public init(dropInbound: Set<String> = [], dropOutbound: Set<String> = [], loss: Double = 0,
                delayMillis: Int = 0, defects: Set<InjectedDefect> = []) throws(InjectedFaultError) {
        guard loss.isFinite, (0...1).contains(loss) else {
            throw InjectedFaultError("loss must be a number from 0 to 1, found \(loss)")
        }
        guard (0...60_000).contains(delayMillis) else {
            throw InjectedFaultError("delay_ms must be from 0 to 60000, found \(delayMillis)")
        }
        if let empty = (dropInbound.union(dropOutbound)).first(where: \.isEmpty) {
            throw InjectedFaultError("a node name must not be empty, found \"\(empty)\"")
        }
        self.dropInbound = dropInbound
        self.dropOutbound = dropOutbound
        self.loss = loss
        self.delayMillis = UInt64(delayMillis)
        self.defects = defects
    }

    /// Whether no fault is set.
    public var isNone: Bool { self == .none }

    /// Whether a message or frame from `peer` (its name, nil when unknown) is dropped on arrival.
    public func dropsInbound(from peer: String?) -> Bool {
        guard let peer, !dropInbound.isEmpty else { return false }
        return dropInbound.contains(peer)
    }

    /// Whether a frame to `peer` (its name) over a node-to-node link is dropped.
    public func dropsOutbound(to peer: String) -> Bool {
        !dropOutbound.isEmpty && dropOutbound.contains(peer)
    }

    /// What to do with a membership message to `peer` (its name, nil when no member has that address).
    public func outbound(to peer: String?, random: inout ProtocolRandom) -> Verdict {
        if let peer, dropOutbound.contains(peer) { return .drop }
        if loss > 0 && random.nextUnit() < loss { return .drop }
        return .deliver(afterMillis: delayMillis)
    }
}

/// A guarantee a node breaks on purpose when told to (`debug_faults` on), named as the admin API
/// names it. For chaos runs: a run with a defect must fail its checks.
public enum InjectedDefect: String, Sendable, CaseIterable, Comparable {
    /// This node acknowledges an acknowledged broadcast that reached one of its members over a link,
    /// but never hands the event to the member: the sender counts it delivered, and it is lost.
    case ackWithoutDelivery = "ack_without_delivery"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The defect of this name, or an error listing the known names.
    public init(named name: String) throws(InjectedFaultError) {
        guard let defect = Self(rawValue: name) else {
            throw InjectedFaultError("unknown defect \"\(name)\"; known: \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = defect
    }
}

/// A fault description that cannot be used, with what was expected.
public struct InjectedFaultError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
