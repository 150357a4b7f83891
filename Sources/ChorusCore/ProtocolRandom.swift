/// The random source of a pure protocol core: seeded, so a core makes the same choices for the
/// same inputs. The shell seeds it from the system generator; the simulator and tests from a
/// printed seed. (SplitMix64: small, fast, and good enough for choosing probe targets.)
public struct ProtocolRandom: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator seeded from the system's random source (for production shells).
    public static func fromSystem() -> ProtocolRandom {
        var system = SystemRandomNumberGenerator()
        return ProtocolRandom(seed: system.next())
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
