import ChorusCore
/// One input a node handled, as the simulation's trace reports it (the message itself is left out, so
/// a trace is comparable whatever the message type).
public struct SimulationTraceEvent: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// What kind of input it was.
    public enum Input: Sendable, Equatable, Hashable {
        /// A message from `from`.
        case receive(from: SimAddress, transport: Transport)
        /// A wake-up (or the start of the node).
        case wake
        /// A failed stream message to `to`.
        case undeliverable(to: SimAddress, reason: DeliveryFailure)
    }

    /// When the node handled it.
    public var time: VirtualTime
    /// The node that handled it.
    public var node: SimAddress
    /// What it was.
    public var input: Input

    /// The input `input` handled by `node` at `time`.
    public init(time: VirtualTime, node: SimAddress, input: Input) {
        self.time = time
        self.node = node
        self.input = input
    }

    public var description: String {
        switch input {
        case let .receive(from, transport): "\(time) \(node) <- \(from) \(transport)"
        case .wake: "\(time) \(node) wake"
        case let .undeliverable(to, reason): "\(time) \(node) -x \(to) \(reason)"
        }
    }
}
