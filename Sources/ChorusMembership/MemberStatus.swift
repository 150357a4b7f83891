/// What a node believes about a member.
///
/// - `alive`: answers probes, or someone who talked to it recently says so;
/// - `suspect`: missed a probe round; it has a suspicion timeout to refute it;
/// - `dead`: did not refute in time, or its process is known to be gone;
/// - `left`: said goodbye (graceful leave); never suspected again at that incarnation.
public enum MemberStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case alive, suspect, dead, left
}

/// A member's own counter that only it raises, to refute suspicions about itself (SWIM §4.2).
/// 64 bits: a refutation may jump past a large value without wrapping (memberlist uses 32).
public struct Incarnation: RawRepresentable, Comparable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
    public static let zero = Incarnation(0)
    public static func < (lhs: Incarnation, rhs: Incarnation) -> Bool { lhs.rawValue < rhs.rawValue }
    public var next: Incarnation { Incarnation(rawValue &+ 1) }
    public var description: String { "\(rawValue)" }
}

/// A status at an incarnation: the unit of gossip about a member.
public struct MemberState: Hashable, Sendable, CustomStringConvertible {
    public var status: MemberStatus
    public var incarnation: Incarnation

    public init(_ status: MemberStatus, _ incarnation: Incarnation) {
        self.status = status
        self.incarnation = incarnation
    }

    public var description: String { "\(status.rawValue)@\(incarnation)" }

    /// What to do with news `incoming` about a member currently believed to be in `self`.
    ///
    /// The precedence rules (SWIM §4.2, as memberlist applies them):
    /// - `alive(i)` wins over anything older: it is applied when `i` is greater than the current
    ///   incarnation, whatever the status (a dead or left member that comes back does so with a
    ///   higher incarnation); an equal incarnation adds nothing;
    /// - `suspect(i)` applies to an alive member when `i >= current`; about a member already
    ///   suspect at `i >= current`, it is an independent confirmation (Lifeguard shortens the
    ///   timeout); it never touches a dead or left member;
    /// - `dead(i)` and `left(i)` apply to an alive or suspect member when `i >= current`; once dead
    ///   or left, only a higher-incarnation alive brings the member back. `left` over `dead` at the
    ///   same incarnation is applied (the goodbye is the better explanation).
    public func judge(_ incoming: MemberState) -> StateUpdate {
        let newer = incoming.incarnation > incarnation
        let notOlder = incoming.incarnation >= incarnation
        switch (status, incoming.status) {
        case (_, .alive):
            return newer ? .apply : .ignore
        case (.alive, .suspect):
            return notOlder ? .apply : .ignore
        case (.suspect, .suspect):
            return notOlder ? .confirm : .ignore
        case (.dead, .suspect), (.left, .suspect):
            return .ignore
        case (.alive, .dead), (.suspect, .dead), (.alive, .left), (.suspect, .left):
            return notOlder ? .apply : .ignore
        case (.dead, .left):
            return notOlder ? .apply : .ignore
        case (.dead, .dead), (.left, .left), (.left, .dead):
            return .ignore
        }
    }
}

/// The verdict of `MemberState.judge`.
public enum StateUpdate: Sendable, Equatable {
    /// The news replaces what we believed (and is worth gossiping on).
    case apply
    /// The news agrees with an existing suspicion: count the sender as a confirmation.
    case confirm
    /// Old or redundant news.
    case ignore
}
