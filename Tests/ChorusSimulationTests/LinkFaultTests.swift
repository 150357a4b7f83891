import ChorusCore
import ChorusSimulation
import ChorusTestSupport
import Testing

@Suite struct LinkFaultTests {
    @Test("given loss 0.3 on one link, about 30% of its datagrams are dropped and the reverse link loses none")
    func loss() {
        let seed = testSeed("loss", fixed: 0x1055)
        let (sim, n) = probes(2, seed: seed)
        sim.setLink(from: n[0], to: n[1], LinkFaults(loss: 0.3))
        // When
        sim.sendNotes(0 ..< 10_000, from: n[0], to: n[1])
        sim.sendNotes(0 ..< 1_000, from: n[1], to: n[0])
        sim.run(for: .seconds(1))
        // Then: 7,000 expected, standard deviation about 46; the bounds are more than 6 of them away
        let arrived = sim.node(n[1])!.notes.count
        #expect((6_700 ... 7_300).contains(arrived), "\(arrived) of 10,000 arrived")
        #expect(sim.node(n[0])!.notes.count == 1_000)
        #expect(sim.stats.datagramsDropped == 10_000 - arrived)
        #expect(sim.stats.datagramsSent == sim.stats.datagramsDelivered + sim.stats.datagramsDropped)
    }

    @Test("given a delay range, every datagram arrives within it and the range is used")
    func delayRange() {
        let seed = testSeed("delayRange", fixed: 0xDE1A)
        let (sim, n) = probes(2, seed: seed, link: LinkFaults(delay: .milliseconds(2) ... .milliseconds(5)))
        sim.processingCost = .zero
        sim.run(until: .seconds(1))
        let sent = sim.now
        // When
        sim.sendNotes(0 ..< 2_000, from: n[0], to: n[1])
        sim.run(for: .seconds(1))
        // Then
        let delays = sim.node(n[1])!.received.map { $0.at - sent }
        #expect(delays.count == 2_000)
        #expect(delays.allSatisfy { (.milliseconds(2) ... .milliseconds(5)).contains($0) })
        #expect(delays.min()! < .microseconds(2_100))
        #expect(delays.max()! > .microseconds(4_900))
    }

    @Test("given duplication 0.5, about half the datagrams arrive twice, none three times")
    func duplication() {
        let seed = testSeed("duplication", fixed: 0xD0D0)
        let (sim, n) = probes(2, seed: seed, link: LinkFaults(duplication: 0.5))
        // When
        sim.sendNotes(0 ..< 2_000, from: n[0], to: n[1])
        sim.run(for: .seconds(1))
        // Then
        let notes = sim.node(n[1])!.notes
        var copies: [Int: Int] = [:]
        for note in notes { copies[note, default: 0] += 1 }
        #expect(copies.count == 2_000)
        #expect(copies.values.allSatisfy { $0 == 1 || $0 == 2 })
        #expect((2_800 ... 3_200).contains(notes.count), "\(notes.count) arrived")
        #expect(sim.stats.datagramsDuplicated == notes.count - 2_000)
    }

    @Test("given a fixed delay, datagrams arrive in order; with reordering they do not, while stream messages stay in order")
    func reordering() {
        let seed = testSeed("reordering", fixed: 0x0DE5)
        let fixed = LinkFaults(delay: .milliseconds(1) ... .milliseconds(1))
        let (sim, n) = probes(4, seed: seed, link: fixed)
        sim.setLink(from: n[2], to: n[3], LinkFaults(delay: .milliseconds(1) ... .milliseconds(3), reordering: 0.5))
        // When: n0 -> n1 plain, n2 -> n3 reordering, as datagrams then as stream messages, sent over time
        for round in 0 ..< 20 {
            let batch = round * 10 ..< round * 10 + 10
            sim.sendNotes(batch, from: n[0], to: n[1])
            sim.sendNotes(batch, from: n[2], to: n[3])
            sim.sendNotes(batch.map { $0 + 1_000 }, from: n[2], to: n[3], transport: .reliable)
            sim.run(for: .microseconds(300))
        }
        sim.run(for: .seconds(1))
        // Then
        #expect(sim.node(n[1])!.notes == Array(0 ..< 200))
        let datagrams = sim.node(n[3])!.notes.filter { $0 < 1_000 }
        let stream = sim.node(n[3])!.notes.filter { $0 >= 1_000 }
        #expect(datagrams.sorted() == Array(0 ..< 200))
        #expect(datagrams != Array(0 ..< 200))
        #expect(stream == Array(1_000 ..< 1_200))
    }

    @Test("given loss and duplication on a link, stream messages are neither lost nor duplicated")
    func streamIgnoresLossAndDuplication() {
        let seed = testSeed("streamIgnoresLossAndDuplication", fixed: 0x57EA)
        let (sim, n) = probes(2, seed: seed, link: LinkFaults(loss: 0.5, duplication: 0.5, reordering: 0.5))
        // When
        sim.sendNotes(0 ..< 500, from: n[0], to: n[1], transport: .reliable)
        sim.run(for: .seconds(1))
        // Then
        #expect(sim.node(n[1])!.notes == Array(0 ..< 500))
        #expect(sim.stats.reliableDelivered == 500)
    }

    @Test("given stream traffic between thousands of pairs over time, every pair's messages arrive in order")
    func manyStreamsStayOrdered() {
        let seed = testSeed("manyStreamsStayOrdered", fixed: 0x0DE6)
        let (sim, n) = probes(80, seed: seed, link: LinkFaults(delay: .microseconds(100) ... .milliseconds(3)))
        // When: three rounds of a note from everyone to everyone (6,320 pairs), 1 ms apart
        for round in 0 ..< 3 {
            for from in n {
                sim.call(from) { _, effects in
                    for to in n where to != from { effects.send(.note(round), to: to, transport: .reliable) }
                }
            }
            sim.run(for: .milliseconds(1))
        }
        sim.run(for: .seconds(1))
        // Then
        for to in n {
            var bySender: [SimAddress: [Int]] = [:]
            for entry in sim.node(to)!.received { if case let .note(k) = entry.note { bySender[entry.from, default: []].append(k) } }
            #expect(bySender.count == 79)
            #expect(bySender.values.allSatisfy { $0 == [0, 1, 2] })
        }
        #expect(sim.stats.reliableDelivered == 3 * 80 * 79)
    }
}
