import ChorusCore
import ChorusMembership
import Testing

@Suite("Lifeguard: local health and dynamic suspicion")
struct LifeguardTests {
    @Test("local health rises on own failures, falls on successes, and stays within 0..<max")
    func localHealthBounds() {
        var health = LocalHealth(maxMultiplier: 8)
        #expect(health.scale(.milliseconds(500)) == .milliseconds(500))
        health.probeFailed()
        health.nacksMissing(2)
        #expect(health.score == 3)
        #expect(health.scale(.milliseconds(500)) == .seconds(2))
        for _ in 0..<20 { health.refutedSuspicion() }
        #expect(health.score == 7)
        for _ in 0..<20 { health.probeSucceeded() }
        #expect(health.score == 0)
        var off = LocalHealth(maxMultiplier: 1)
        off.probeFailed()
        #expect(off.score == 0, "a bound of 1 disables the multiplier")
    }

    @Test("suspicion bounds follow memberlist's rule (4..24 s at N=10 with lan timers)")
    func suspicionBounds() {
        let ten = Suspicion.bounds(clusterSize: 10, probeInterval: .seconds(1), suspicionMultiplier: 4, maxTimeoutMultiplier: 6)
        #expect(ten.min == .seconds(4))
        #expect(ten.max == .seconds(24))
        let thousand = Suspicion.bounds(clusterSize: 1000, probeInterval: .seconds(1), suspicionMultiplier: 4, maxTimeoutMultiplier: 6)
        #expect(thousand.min == .seconds(12))
        let one = Suspicion.bounds(clusterSize: 1, probeInterval: .seconds(1), suspicionMultiplier: 4, maxTimeoutMultiplier: 6)
        #expect(one.min == .seconds(4), "log10 is floored at 1")
    }

    @Test("given a lone accuser the timeout is the maximum; each independent confirmation shortens it down to the minimum")
    func suspicionShrinksWithConfirmations() {
        var suspicion = Suspicion(start: .millis(1000), suspectedBy: "a", k: 2, min: .seconds(4), max: .seconds(24))
        #expect(suspicion.timeout == .seconds(24))
        #expect(suspicion.deadline == .millis(25_000))
        let confirmedByA = suspicion.confirm(from: "a")
        #expect(!confirmedByA, "the first accuser is not a confirmation")
        let confirmedByB = suspicion.confirm(from: "b")
        #expect(confirmedByB)
        let confirmedByBAgain = suspicion.confirm(from: "b")
        #expect(!confirmedByBAgain, "nobody counts twice")
        // max - (max - min) * log(2)/log(3) = 24 - 20 * 0.6309 = 11.38 s
        let one = suspicion.timeout
        #expect(one > .seconds(11) && one < .milliseconds(11_400))
        let confirmedByC = suspicion.confirm(from: "c")
        #expect(confirmedByC)
        #expect(suspicion.timeout == .seconds(4))
        let confirmedByD = suspicion.confirm(from: "d")
        #expect(!confirmedByD, "k confirmations already reached the minimum")
    }
}
