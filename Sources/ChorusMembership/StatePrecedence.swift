import ChorusWire

// MemberStatus, Incarnation and MemberState are the wire's vocabulary (ChorusWire); the rules
// that decide between two pieces of news are the protocol's, here.

extension MemberState {
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
