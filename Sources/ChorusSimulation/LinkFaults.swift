import ChorusCore
/// Fault settings of one directed link (or the default for all links).
///
/// The rules, applied to each datagram when it is sent:
/// - **loss**: with probability `loss` the datagram is dropped and never arrives.
/// - **delay**: otherwise it arrives after a one-way delay drawn uniformly from `delay`.
/// - **reordering**: with probability `reordering` it gets an extra delay drawn uniformly from zero to
///   ten times `delay.upperBound`, so later datagrams on the same link can overtake it.
/// - **duplication**: with probability `duplication` a second copy is delivered too, with its own
///   independently drawn delay (and reordering).
///
/// Stream (`.reliable`) messages see only the delay: loss, duplication and reordering are what a stream
/// protocol hides; they arrive in send order per (sender, receiver) pair. Partitions and cuts are
/// separate from link faults (`Simulation.partition`, `cut`, `heal`).
public struct LinkFaults: Sendable, Equatable {
    /// Probability that a datagram is dropped (0...1).
    public var loss: Double
    /// One-way delay, uniform in the range (default 100µs...500µs); must not be negative.
    public var delay: ClosedRange<Duration>
    /// Probability that a datagram is delivered twice (0...1).
    public var duplication: Double
    /// Probability that a datagram gets an extra random delay of up to 10x `delay.upperBound` (0...1).
    public var reordering: Double

    /// A link with the given faults; every fault defaults to off and the delay to 100µs...500µs.
    public init(
        loss: Double = 0,
        delay: ClosedRange<Duration> = .microseconds(100) ... .microseconds(500),
        duplication: Double = 0,
        reordering: Double = 0
    ) {
        self.loss = loss
        self.delay = delay
        self.duplication = duplication
        self.reordering = reordering
    }

    /// No loss, duplication or reordering; the default delay of 100µs...500µs.
    public static let none = LinkFaults()
}

/// `LinkFaults` in the form the hot path uses: nanoseconds and spans, checked once.
@usableFromInline struct LinkModel: Sendable {
    @usableFromInline var loss: Double
    @usableFromInline var duplication: Double
    @usableFromInline var reordering: Double
    @usableFromInline var minDelay: UInt64
    @usableFromInline var delaySpan: UInt64
    @usableFromInline var reorderSpan: UInt64

    @usableFromInline init(_ faults: LinkFaults) {
        precondition((0 ... 1).contains(faults.loss), "LinkFaults.loss must be in 0...1, not \(faults.loss)")
        precondition((0 ... 1).contains(faults.duplication), "LinkFaults.duplication must be in 0...1, not \(faults.duplication)")
        precondition((0 ... 1).contains(faults.reordering), "LinkFaults.reordering must be in 0...1, not \(faults.reordering)")
        loss = faults.loss
        duplication = faults.duplication
        reordering = faults.reordering
        minDelay = faults.delay.lowerBound.simulationNanosNonNegative("LinkFaults.delay")
        let maxDelay = faults.delay.upperBound.simulationNanosNonNegative("LinkFaults.delay")
        delaySpan = maxDelay - minDelay
        reorderSpan = maxDelay * 10
    }

    /// A one-way delay for a stream message (no reordering).
    @inlinable func streamDelay(_ random: inout SimulationRandom) -> UInt64 {
        minDelay + random.upTo(delaySpan)
    }

    /// A one-way delay for a datagram, reordering included.
    @inlinable func datagramDelay(_ random: inout SimulationRandom) -> UInt64 {
        var delay = minDelay + random.upTo(delaySpan)
        if random.chance(reordering) { delay += random.upTo(reorderSpan) }
        return delay
    }
}
