import Chorus
import ChorusCore
import Testing

@Suite("Membership fault injection (pure)")
struct MembershipFaultsTests {
    @Test("given no fault, then everything is delivered at once and nothing is dropped on arrival")
    func none() {
        var random = ProtocolRandom(seed: 1)
        #expect(MembershipFaults.none.outbound(to: "n2", random: &random) == .deliver(afterMillis: 0))
        #expect(!MembershipFaults.none.dropsInbound(from: "n2"))
        #expect(MembershipFaults.none.isNone)
    }

    @Test("given drop lists, then only the named peers are cut, each in its direction")
    func dropLists() throws {
        let faults = try MembershipFaults(dropInbound: ["n2"], dropOutbound: ["n3"])
        var random = ProtocolRandom(seed: 2)
        #expect(faults.dropsInbound(from: "n2"))
        #expect(!faults.dropsInbound(from: "n3"))
        #expect(!faults.dropsInbound(from: nil))
        #expect(faults.outbound(to: "n3", random: &random) == .drop)
        #expect(faults.outbound(to: "n2", random: &random) == .deliver(afterMillis: 0))
        #expect(faults.outbound(to: nil, random: &random) == .deliver(afterMillis: 0))
    }

    @Test("given a loss rate, then about that share of outbound messages is dropped, and the rest delayed")
    func lossAndDelay() throws {
        let faults = try MembershipFaults(loss: 0.25, delayMillis: 40)
        var random = ProtocolRandom(seed: 3)
        let verdicts = (0..<10_000).map { _ in faults.outbound(to: "n2", random: &random) }
        let dropped = verdicts.filter { $0 == .drop }.count
        #expect((2_200...2_800).contains(dropped), "dropped \(dropped) of 10000")
        #expect(verdicts.allSatisfy { $0 == .drop || $0 == .deliver(afterMillis: 40) })
        #expect(try MembershipFaults(loss: 1).outbound(to: "n2", random: &random) == .drop)
    }

    @Test("given values out of range, then they are refused with what is allowed")
    func validation() {
        #expect(throws: MembershipFaultError.self) { try MembershipFaults(loss: 1.5) }
        #expect(throws: MembershipFaultError.self) { try MembershipFaults(loss: -0.1) }
        #expect(throws: MembershipFaultError.self) { try MembershipFaults(loss: .nan) }
        #expect(throws: MembershipFaultError.self) { try MembershipFaults(delayMillis: -1) }
        #expect(throws: MembershipFaultError.self) { try MembershipFaults(dropInbound: [""]) }
        do {
            _ = try MembershipFaults(loss: 2)
        } catch {
            #expect(error.message.contains("from 0 to 1"))
        }
    }
}
