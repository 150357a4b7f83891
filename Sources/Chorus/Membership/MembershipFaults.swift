import ChorusCore

/// Faults injected into this node's membership traffic, for chaos tests (`debug_faults` on):
/// datagrams and membership TCP frames from `dropInbound` peers are dropped on arrival; those to
/// `dropOutbound` peers are not sent; every other outbound message is lost with probability
/// `loss` and otherwise held back `delayMillis`. Peers are named, not addressed.
///
/// Pure: the caller passes the random source, so a decision is reproducible.
public struct MembershipFaults: Sendable, Equatable {
    public private(set) var dropInbound: Set<String>
    public private(set) var dropOutbound: Set<String>
    /// Probability, from 0 to 1, that an outbound message is lost.
    public private(set) var loss: Double
    /// Delay added to every outbound message that is not lost.
    public private(set) var delayMillis: UInt64

    /// What to do with one outbound message.
    public enum Verdict: Sendable, Equatable {
        case drop
        case deliver(afterMillis: UInt64)
    }

    /// No fault: everything goes through at once.
    public static let none = MembershipFaults()

    private init() {
        dropInbound = []
        dropOutbound = []
        loss = 0
        delayMillis = 0
    }

    /// Checks each value: `loss` from 0 to 1, `delayMillis` from 0 to 60 000, names not empty.
    public init(dropInbound: Set<String> = [], dropOutbound: Set<String> = [], loss: Double = 0,
                delayMillis: Int = 0) throws(MembershipFaultError) {
        guard loss.isFinite, (0...1).contains(loss) else {
            throw MembershipFaultError("loss must be a number from 0 to 1, found \(loss)")
        }
        guard (0...60_000).contains(delayMillis) else {
            throw MembershipFaultError("delay_ms must be from 0 to 60000, found \(delayMillis)")
        }
        if let empty = (dropInbound.union(dropOutbound)).first(where: \.isEmpty) {
            throw MembershipFaultError("a node name must not be empty, found \"\(empty)\"")
        }
        self.dropInbound = dropInbound
        self.dropOutbound = dropOutbound
        self.loss = loss
        self.delayMillis = UInt64(delayMillis)
    }

    /// Whether no fault is set.
    public var isNone: Bool { self == .none }

    /// Whether a message from `peer` (its name, nil when unknown) is dropped on arrival.
    public func dropsInbound(from peer: String?) -> Bool {
        guard let peer else { return false }
        return dropInbound.contains(peer)
    }

    /// What to do with a message to `peer` (its name, nil when no member has that address).
    public func outbound(to peer: String?, random: inout ProtocolRandom) -> Verdict {
        if let peer, dropOutbound.contains(peer) { return .drop }
        if loss > 0 && random.nextUnit() < loss { return .drop }
        return .deliver(afterMillis: delayMillis)
    }
}

/// A fault description that cannot be used, with what was expected.
public struct MembershipFaultError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
