import ChorusCore
/// Virtual time: the simulation's clock, in nanoseconds since the simulation's start.
///
/// It is the cores' own `ProtocolTime`, so a simulated node hands it to its core as it is. The
/// clock moves only when the simulation takes the next event from its queue, so a run never
/// depends on how fast the host machine is.
public typealias VirtualTime = ProtocolTime

extension Duration {
    /// A non-negative duration in whole nanoseconds; a negative one is a programming error.
    @inlinable func simulationNanosNonNegative(_ what: @autoclosure () -> String) -> UInt64 {
        let value = nanoseconds
        precondition(value >= 0, "\(what()) must not be negative: \(self)")
        return UInt64(value)
    }
}
