import ChorusCore

/// Lifeguard's local health multiplier (LHM): how much this node doubts its own timeliness.
///
/// A node that misses acks because it is itself slow (CPU starved, paused, swapping) should not
/// accuse others. The score rises on evidence that we are the slow one and falls on evidence
/// that we are fine; probe intervals and probe timeouts are stretched by `score + 1`.
/// Rules (Lifeguard §4.1, memberlist's awareness):
/// - a probe that got its ack: -1;
/// - a probe that failed: +1;
/// - an indirect probe whose helpers did not even send nacks: +1 per missing nack;
/// - having to refute a suspicion about ourselves: +1.
/// The score stays in `0 ..< maxMultiplier`.
public struct LocalHealth: Sendable, Equatable {
    /// The score's bound (memberlist's AwarenessMaxMultiplier, default 8).
    public let maxMultiplier: Int
    public private(set) var score = 0

    public init(maxMultiplier: Int = 8) {
        precondition(maxMultiplier >= 1, "maxMultiplier must be at least 1")
        self.maxMultiplier = maxMultiplier
    }

    /// Moves the score by `delta`, kept within bounds. Returns whether it changed.
    @discardableResult
    public mutating func apply(_ delta: Int) -> Bool {
        let before = score
        score = min(max(score + delta, 0), maxMultiplier - 1)
        return score != before
    }

    public mutating func probeSucceeded() { apply(-1) }
    public mutating func probeFailed() { apply(+1) }
    public mutating func nacksMissing(_ count: Int) { if count > 0 { apply(count) } }
    public mutating func refutedSuspicion() { apply(+1) }

    /// `timeout` stretched by the current doubt: `timeout * (score + 1)`.
    public func scale(_ timeout: Duration) -> Duration { timeout * (score + 1) }
}
