import ChorusCore
import Testing

@Suite("Protocol time and seeded randomness")
struct ProtocolTimeTests {
    @Test("instants move by durations and subtract to durations, never below zero")
    func arithmetic() {
        let start = ProtocolTime.millis(1500)
        #expect(start + .milliseconds(250) == .millis(1750))
        #expect(start + .milliseconds(-500) == .millis(1000))
        #expect(ProtocolTime.millis(1) + .seconds(-5) == .zero)
        #expect(ProtocolTime.millis(1750) - start == .milliseconds(250))
        #expect(start - ProtocolTime.millis(1750) == .milliseconds(-250))
    }

    @Test("durations convert to nanoseconds and scale")
    func durations() {
        #expect(Duration.seconds(3).nanoseconds == 3_000_000_000)
        #expect(Duration.milliseconds(-2).nanoseconds == -2_000_000)
        #expect(Duration.milliseconds(500).scaled(by: 2.5) == .milliseconds(1250))
        #expect(Duration.seconds(Int64.max).nanoseconds == .max, "saturates instead of trapping")
    }

    @Test("the same seed gives the same choices; different seeds differ")
    func seededRandom() {
        var a = ProtocolRandom(seed: 42), b = ProtocolRandom(seed: 42), c = ProtocolRandom(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        var shuffled = Array(0..<100)
        var r = ProtocolRandom(seed: 7)
        shuffled.shuffle(using: &r)
        var again = Array(0..<100)
        var r2 = ProtocolRandom(seed: 7)
        again.shuffle(using: &r2)
        #expect(shuffled == again)
    }
}
