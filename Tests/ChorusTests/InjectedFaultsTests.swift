import Chorus
import ChorusCore
import Testing

@Suite("Injected faults (pure)")
struct InjectedFaultsTests {
    @Test("given no fault, then everything is delivered at once and nothing is dropped on arrival")
    func none() {
        var random = ProtocolRandom(seed: 1)
        #expect(InjectedFaults.none.outbound(to: "n2", random: &random) == .deliver(afterMillis: 0))
        #expect(!InjectedFaults.none.dropsInbound(from: "n2"))
        #expect(InjectedFaults.none.isNone)
    }

    @Test("given drop lists, then only the named peers are cut, each in its direction")
    func dropLists() throws {
        let faults = try InjectedFaults(dropInbound: ["n2"], dropOutbound: ["n3"])
        var random = ProtocolRandom(seed: 2)
        #expect(faults.dropsInbound(from: "n2"))
        #expect(!faults.dropsInbound(from: "n3"))
        #expect(!faults.dropsInbound(from: nil))
        #expect(faults.outbound(to: "n3", random: &random) == .drop)
        #expect(faults.outbound(to: "n2", random: &random) == .deliver(afterMillis: 0))
        #expect(faults.outbound(to: nil, random: &random) == .deliver(afterMillis: 0))
        #expect(faults.dropsOutbound(to: "n3"))
        #expect(!faults.dropsOutbound(to: "n2"))
        #expect(!InjectedFaults.none.dropsOutbound(to: "n3"))
    }

    @Test("given defect names, then known ones are read and an unknown one is refused with the known names")
    func defects() throws {
        #expect(try InjectedDefect(named: "ack_without_delivery") == .ackWithoutDelivery)
        #expect(try InjectedFaults(defects: [.ackWithoutDelivery]).defects == [.ackWithoutDelivery])
        #expect(!(try InjectedFaults(defects: [.ackWithoutDelivery]).isNone))
        #expect(throws: InjectedFaultError("unknown defect \"lose_everything\"; known: ack_without_delivery")) {
            try InjectedDefect(named: "lose_everything")
        }
    }

    @Test("given a loss rate, then about that share of outbound messages is dropped, and the rest delayed")
    func lossAndDelay() throws {
        let faults = try InjectedFaults(loss: 0.25, delayMillis: 40)
        var random = ProtocolRandom(seed: 3)
        let verdicts = (0..<10_000).map { _ in faults.outbound(to: "n2", random: &random) }
        let dropped = verdicts.filter { $0 == .drop }.count
        #expect((2_200...2_800).contains(dropped), "dropped \(dropped) of 10000")
        #expect(verdicts.allSatisfy { $0 == .drop || $0 == .deliver(afterMillis: 40) })
        #expect(try InjectedFaults(loss: 1).outbound(to: "n2", random: &random) == .drop)
    }

    @Test("given values out of range, then they are refused with what is allowed")
    func validation() {
        #expect(throws: InjectedFaultError.self) { try InjectedFaults(loss: 1.5) }
        #expect(throws: InjectedFaultError.self) { try InjectedFaults(loss: -0.1) }
        #expect(throws: InjectedFaultError.self) { try InjectedFaults(loss: .nan) }
        #expect(throws: InjectedFaultError.self) { try InjectedFaults(delayMillis: -1) }
        #expect(throws: InjectedFaultError.self) { try InjectedFaults(dropInbound: [""]) }
        do {
            _ = try InjectedFaults(loss: 2)
        } catch {
            #expect(error.message.contains("from 0 to 1"))
        }
    }
}
