#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a tiny, fast, seedable generator, so every randomized test replays from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
