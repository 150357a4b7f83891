import ChorusCore

/// The simulation's seeded random source (SplitMix64): every random choice of a run, the network's
/// and the nodes', comes from one of these, so a run replays exactly from its seed.
///
/// A simulation owns one, seeded with its seed, and derives a fresh one for each node it adds or
/// restarts (seeded by the next value of its own), so nodes never share a stream.
public typealias SimulationRandom = ProtocolRandom

extension ProtocolRandom {
    /// True with `probability`.
    @inlinable mutating func chance(_ probability: Double) -> Bool {
        probability > 0 && nextUnit() < probability
    }

    /// A uniform value in `0 ... span`.
    @inlinable mutating func upTo(_ span: UInt64) -> UInt64 {
        if span == 0 { return 0 }
        if span == .max { return next() }
        return next().multipliedFullWidth(by: span + 1).high
    }
}
