@testable import Chorus
import Testing

/// The random pick every broadcast makes among its group's members.
struct GroupDirectoryTests {
    /// Pearson's chi-square of `picks` draws below `count` against the uniform distribution.
    static func chiSquare(seed: UInt64, count: Int, picks: Int) -> Double {
        let directory = GroupDirectory(seed: seed, hashBasis: 0)
        var counts = [Int](repeating: 0, count: count)
        for _ in 0..<picks {
            let index = directory.randomIndex(below: count)
            counts[index] += 1
        }
        let expected = Double(picks) / Double(count)
        return counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    }

    @Test("given seeded pickers, 100,000 picks among 10 members are uniform (chi-square below p = 0.001's 27.88 for each seed)",
          arguments: [UInt64(1), 0x5EED, 0xDEAD_BEEF_0BAD_F00D])
    func uniformPicks(seed: UInt64) {
        let chiSquare = Self.chiSquare(seed: seed, count: 10, picks: 100_000)
        print("uniformPicks: seed \(seed), chi-square \(chiSquare) (9 degrees of freedom)")
        #expect(chiSquare < 27.877)
    }

    @Test("given counts that do not divide 2^64 (3, 7, 1000), every index is picked and none outside the range")
    func everyIndexInRange() {
        let directory = GroupDirectory(seed: 42, hashBasis: 0)
        for count in [1, 3, 7, 1000] {
            var seen = Set<Int>()
            for _ in 0..<(count * 50) { seen.insert(directory.randomIndex(below: count)) }
            #expect(seen == Set(0..<count))
        }
    }
}
