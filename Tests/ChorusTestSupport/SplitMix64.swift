#if canImport(Glibc)
import Glibc
#endif

import ChorusCore

/// The tests' seeded generator is the cores' own (one SplitMix64 in the code base).
public typealias SplitMix64 = ProtocolRandom

extension ProtocolRandom {
    public mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    /// `count` random bytes, eight per draw.
    public mutating func bytes(count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                var word = next()
                for _ in 0 ..< min(8, count - index) {
                    buffer[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            initialized = count
        }
    }
}

/// The seed for a randomized test: `CHORUS_SEED` (decimal or 0x-hex) if set, else `fixed`.
/// Printed, so a failing run can be replayed with the same inputs.
public func testSeed(_ name: String, fixed: UInt64) -> UInt64 {
    var seed = fixed
    if let raw = getenv("CHORUS_SEED") {
        let text = String(cString: raw)
        if let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text) {
            seed = parsed
        }
    }
    let hex = String(seed, radix: 16)
    print("\(name): seed 0x\(hex) (replay with CHORUS_SEED=0x\(hex))")
    return seed
}
