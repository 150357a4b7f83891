import ChorusCore
/// Counters of everything a simulation has done so far.
///
/// Datagrams balance: `datagramsSent + datagramsDuplicated == datagramsDelivered + datagramsDropped`
/// plus those still in flight or waiting in an inbox. Stream messages balance likewise:
/// `reliableSent == reliableDelivered + reliableRefused + reliableTimedOut` plus those in flight or waiting.
public struct SimulationStats: Sendable, Equatable, CustomStringConvertible {
    /// Datagrams nodes sent.
    public var datagramsSent = 0
    /// Datagrams handed to a node's `receive` (copies made by duplication included).
    public var datagramsDelivered = 0
    /// Datagrams that never arrived: lost on the link, blocked by a partition or cut, or sent to a
    /// crashed node (including those waiting in its inbox when it crashed).
    public var datagramsDropped = 0
    /// Extra copies made by link duplication.
    public var datagramsDuplicated = 0
    /// Stream messages nodes sent.
    public var reliableSent = 0
    /// Stream messages handed to a node's `receive`.
    public var reliableDelivered = 0
    /// Stream messages that failed with `.refused` (crashed or restarted peer).
    public var reliableRefused = 0
    /// Stream messages that failed with `.timedOut` (partition or cut).
    public var reliableTimedOut = 0
    /// `wake(at:)` calls, starts included.
    public var wakeUps = 0
    /// Calls into nodes of any kind (receive, wake, undeliverable); local `call`s are not counted.
    public var inputs = 0
    /// Events taken from the queue (inputs plus internal bookkeeping such as stale wake-ups).
    public var events = 0

    /// All counters at zero.
    public init() {}

    /// Stream messages that failed either way.
    public var reliableFailed: Int { reliableRefused + reliableTimedOut }

    public var description: String {
        "events \(events), inputs \(inputs), wake-ups \(wakeUps); "
            + "datagrams sent \(datagramsSent), delivered \(datagramsDelivered), dropped \(datagramsDropped), duplicated \(datagramsDuplicated); "
            + "reliable sent \(reliableSent), delivered \(reliableDelivered), refused \(reliableRefused), timed out \(reliableTimedOut)"
    }
}
