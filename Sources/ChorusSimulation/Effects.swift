import ChorusCore
/// What a node asks the world to do while handling one input: messages to send and times to be woken.
///
/// The simulator hands the node an `Effects` with each input and carries the requests out, in the
/// order they were made, when the input has been handled: sends leave when the node has finished
/// processing the input (see `Simulation.processingCost`), wake-ups are queued at once. The same
/// buffers are reused from one input to the next, so collecting effects does not allocate.
///
/// A test can also build one with `init(now:me:)` to drive a node by hand and read `sends` and
/// `wakeRequests` afterwards.
public struct Effects<Message> {
    /// One message the node asked to send.
    public struct Send {
        /// The message.
        public var message: Message
        /// Its destination.
        public var to: SimAddress
        /// How it travels.
        public var transport: Transport

        @inlinable public init(message: Message, to: SimAddress, transport: Transport) {
            self.message = message
            self.to = to
            self.transport = transport
        }
    }

    /// The virtual time of the input being handled.
    @inlinable public var now: VirtualTime { currentTime }
    /// The address of the node handling the input.
    @inlinable public var me: SimAddress { handler }
    @usableFromInline var currentTime: VirtualTime
    @usableFromInline var handler: SimAddress
    @usableFromInline var pendingSends: [Send]
    @usableFromInline var pendingWakes: [VirtualTime]

    /// Empty effects for the node at `me` handling an input at `now`.
    @inlinable public init(now: VirtualTime, me: SimAddress) {
        currentTime = now
        handler = me
        pendingSends = []
        pendingWakes = []
    }

    /// The messages asked for so far, in order.
    @inlinable public var sends: [Send] { pendingSends }
    /// The wake-up times asked for so far, in order.
    @inlinable public var wakeRequests: [VirtualTime] { pendingWakes }

    /// Sends `message` to `to`. `.datagram` (the default) may be lost, duplicated or reordered, as
    /// the link's `LinkFaults` say; `.reliable` is ordered per (sender, receiver) pair and never lost or
    /// duplicated, but fails with `undeliverable` to a crashed or unreachable peer.
    @inlinable public mutating func send(_ message: Message, to: SimAddress, transport: Transport = .datagram) {
        pendingSends.append(Send(message: message, to: to, transport: transport))
    }

    /// Asks for `wake(at:)` at `time`. Every request fires exactly once, however many there are (even
    /// several for the same time); a request for a time already past fires at once (after this input).
    @inlinable public mutating func wake(at time: VirtualTime) {
        pendingWakes.append(time)
    }

    /// Asks for `wake(at:)` `delay` after `now`.
    @inlinable public mutating func wake(after delay: Duration) {
        pendingWakes.append(currentTime + delay)
    }

    /// Empties the buffers, keeping their storage, for the next input.
    @inlinable mutating func reset(now: VirtualTime, me: SimAddress) {
        currentTime = now
        handler = me
        if !pendingSends.isEmpty { pendingSends.removeAll(keepingCapacity: true) }
        if !pendingWakes.isEmpty { pendingWakes.removeAll(keepingCapacity: true) }
    }
}

extension Effects: Sendable where Message: Sendable {}
extension Effects.Send: Sendable where Message: Sendable {}
