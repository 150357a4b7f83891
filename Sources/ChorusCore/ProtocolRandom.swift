/// The random source of a pure protocol core and of the simulator: seeded, so the same inputs
/// give the same choices. Production shells seed it from the system generator; the simulator and
/// tests from a printed seed. (SplitMix64: small, fast, and good enough for choosing probe
/// targets and simulated faults; not for cryptography.)
public struct ProtocolRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var bits: UInt64

    @inlinable public init(seed: UInt64) { bits = seed }

    /// The generator's state (equal states produce equal sequences).
    @inlinable public var state: UInt64 { bits }

    /// A generator seeded from the system's random source (for production shells).
    public static func fromSystem() -> ProtocolRandom {
        var system = SystemRandomNumberGenerator()
        return ProtocolRandom(seed: system.next())
    }

    @inlinable public mutating func next() -> UInt64 {
        bits &+= 0x9E37_79B9_7F4A_7C15
        var z = bits
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `0 ..< 1` with 53 random bits.
    @inlinable public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
