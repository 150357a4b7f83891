import ChorusCore
import ChorusSimulation
import Testing

@Suite struct VirtualTimeTests {
    @Test("virtual time converts units, adds durations and prints as seconds")
    func arithmetic() {
        #expect(VirtualTime.seconds(2) == .millis(2_000))
        #expect(VirtualTime.millis(3) == .micros(3_000))
        #expect((VirtualTime.millis(1) + .microseconds(250)).nanos == 1_250_000)
        #expect(VirtualTime.millis(5) - VirtualTime.millis(7) == .milliseconds(-2))
        #expect(VirtualTime.millis(5) - .milliseconds(2) == .millis(3))
        #expect(VirtualTime.millis(1_234).millis == 1_234)
        #expect(VirtualTime.millis(1_500).description == "1.5s")
        #expect(VirtualTime.micros(120).description == "0.00012s")
        #expect(VirtualTime.seconds(3).description == "3s")
        #expect(SimAddress(index: 12).description == "s12")
    }

    @Test("Effects collects sends and wake requests in order, for driving a node by hand")
    func effectsByHand() {
        var effects = Effects<Int>(now: .millis(5), me: SimAddress(index: 1))
        effects.send(1, to: SimAddress(index: 2))
        effects.send(2, to: SimAddress(index: 3), transport: .reliable)
        effects.wake(after: .milliseconds(10))
        #expect(effects.sends.map(\.message) == [1, 2])
        #expect(effects.sends.map(\.transport) == [.datagram, .reliable])
        #expect(effects.wakeRequests == [.millis(15)])
    }

    @Test("SimulationRandom replays from its seed")
    func random() {
        var a = SimulationRandom(seed: 42)
        var b = SimulationRandom(seed: 42)
        #expect((0 ..< 10).map { _ in a.next() } == (0 ..< 10).map { _ in b.next() })
        #expect((0 ..< 1_000).allSatisfy { _ in (0 ..< 1).contains(a.nextUnit()) })
    }
}
