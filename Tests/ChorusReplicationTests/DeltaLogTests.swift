import ChorusCore
import ChorusReplication
import Testing

/// The delta log: what it finds by dot, and what it lets go.
struct DeltaLogTests {
    static func delta(_ origin: UInt64, _ sequence: UInt64) -> TestDelta {
        TestDelta(key: TestKey("k\(sequence)"), dot: dot(origin, sequence), value: TestValue(sequence), removed: [])
    }

    @Test("given deltas of two origins, in order, with a gap, out of order, far ahead and under extra dots, then each is found by every dot it was logged under, and unknown dots find nothing")
    func findsByDot() {
        var log = DeltaLog<TestKey, TestValue>(capacity: 100)
        for sequence: UInt64 in [1, 2, 3, 5, 4, 5_000, 7] { log.append(write: Self.delta(1, sequence), at: .zero) }
        log.append(Self.delta(2, 9), newDots: [dot(2, 9), dot(1, 6), dot(3, 1)], at: .zero)
        for sequence: UInt64 in [1, 2, 3, 4, 5, 5_000, 7] { #expect(log.delta(for: dot(1, sequence))?.delta.dot == dot(1, sequence)) }
        #expect(log.delta(for: dot(1, 6))?.delta.dot == dot(2, 9), "logged under a dot it replaced")
        #expect(log.delta(for: dot(3, 1))?.delta.dot == dot(2, 9))
        #expect(log.delta(for: dot(1, 8)) == nil && log.delta(for: dot(1, 4_999)) == nil && log.delta(for: dot(4, 1)) == nil)
    }

    @Test("given a log over its capacity, then the oldest deltas go and are no longer found, the newest stay")
    func capacityDropsOldest() {
        var log = DeltaLog<TestKey, TestValue>(capacity: 1_000)
        for sequence: UInt64 in 1...5_000 { log.append(write: Self.delta(1, sequence), at: .zero) }
        #expect(log.count == 1_000)
        #expect(log.delta(for: dot(1, 4_000)) == nil)
        #expect((4_001...5_000).allSatisfy { log.delta(for: dot(1, $0))?.delta.dot == dot(1, $0) })
    }

    @Test("given deltas applied at different times, when collected, then only the old ones every peer has seen go, oldest first")
    func collection() {
        var log = DeltaLog<TestKey, TestValue>(capacity: 100)
        for sequence: UInt64 in 1...10 { log.append(write: Self.delta(1, sequence), at: .millis(sequence * 10)) }
        let dropped = log.collect(appliedBefore: .millis(75)) { $0.sequence <= 5 }
        #expect(dropped == 5)
        #expect(log.delta(for: dot(1, 5)) == nil && log.delta(for: dot(1, 6)) != nil)
        #expect(log.oldestAppliedAt == .millis(60))
    }
}
