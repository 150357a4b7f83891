import ChorusMembership
import ChorusWire
import Testing

@Suite("Member state precedence (SWIM incarnations)")
struct MemberStateTests {
    static func state(_ status: MemberStatus, _ incarnation: UInt64) -> MemberState {
        MemberState(status, Incarnation(incarnation))
    }

    @Test("alive news applies only with a higher incarnation, whatever we believed",
          arguments: MemberStatus.allCases)
    func aliveNeedsHigherIncarnation(current: MemberStatus) {
        let now = Self.state(current, 5)
        #expect(now.judge(Self.state(.alive, 6)) == .apply)
        #expect(now.judge(Self.state(.alive, 5)) == .ignore)
        #expect(now.judge(Self.state(.alive, 4)) == .ignore)
    }

    @Test("given an alive member, suspicion at the same or a higher incarnation applies; an older one is ignored")
    func suspectOverAlive() {
        let alive = Self.state(.alive, 3)
        #expect(alive.judge(Self.state(.suspect, 3)) == .apply)
        #expect(alive.judge(Self.state(.suspect, 7)) == .apply)
        #expect(alive.judge(Self.state(.suspect, 2)) == .ignore)
    }

    @Test("given a suspect member, further suspicion is a confirmation, not a new suspicion")
    func suspectOverSuspectConfirms() {
        let suspect = Self.state(.suspect, 3)
        #expect(suspect.judge(Self.state(.suspect, 3)) == .confirm)
        #expect(suspect.judge(Self.state(.suspect, 2)) == .ignore)
    }

    @Test("given a dead or left member, suspicion and death news change nothing; only a higher alive revives it",
          arguments: [MemberStatus.dead, .left])
    func goneStaysGone(current: MemberStatus) {
        let gone = Self.state(current, 4)
        #expect(gone.judge(Self.state(.suspect, 9)) == .ignore)
        #expect(gone.judge(Self.state(.dead, 9)) == .ignore)
        #expect(gone.judge(Self.state(.alive, 5)) == .apply)
    }

    @Test("death and goodbye apply to alive and suspect members at the same or a higher incarnation")
    func deathAndLeave() {
        for current in [MemberStatus.alive, .suspect] {
            for news in [MemberStatus.dead, .left] {
                #expect(Self.state(current, 2).judge(Self.state(news, 2)) == .apply)
                #expect(Self.state(current, 2).judge(Self.state(news, 1)) == .ignore)
            }
        }
        #expect(Self.state(.dead, 2).judge(Self.state(.left, 2)) == .apply, "a goodbye explains a death better")
        #expect(Self.state(.left, 2).judge(Self.state(.dead, 2)) == .ignore)
    }

    @Test("a refutation jumps past the incarnation it refutes")
    func refutation() {
        let suspected = Self.state(.suspect, 41)
        let refute = Self.state(.alive, suspected.incarnation.next.rawValue)
        #expect(suspected.judge(refute) == .apply)
        #expect(Incarnation(UInt64.max).next == Incarnation(0), "wraps only after 2^64 refutations")
    }
}
