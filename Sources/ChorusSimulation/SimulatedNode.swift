import ChorusCore
/// A pure protocol node that the simulator drives: a state machine with no I/O, clock or randomness of
/// its own. Every input comes with the current virtual time and an `Effects` to record what the node
/// wants done; the simulator carries those out after the call returns.
///
/// The node may be a value or a reference type; the simulator owns it and drops it on `crash`.
/// Inputs to one node never overlap: each call returns before the next begins.
public protocol SimulatedNode {
    /// What nodes send each other (datagrams and stream messages alike).
    associatedtype Message

    /// A datagram or stream message arrived from `sender`.
    mutating func receive(_ message: Message, from sender: SimAddress, at now: VirtualTime, effects: inout Effects<Message>)

    /// A wake-up the node asked for has come due (`now` is at or after the requested time).
    /// Called once per request; also called once when the node is added or restarted, to start it.
    mutating func wake(at now: VirtualTime, effects: inout Effects<Message>)

    /// A stream (`.reliable`) message could not be delivered: the peer is crashed or restarted
    /// (`.refused`, reported one link delay after the message reached the dead peer, like a TCP RST)
    /// or unreachable through a partition or cut (`.timedOut`, reported the simulation's
    /// `connectTimeout` after the send, or after a message in flight hit a partition).
    mutating func undeliverable(_ message: Message, to peer: SimAddress, reason: DeliveryFailure, at now: VirtualTime, effects: inout Effects<Message>)
}

/// Why a stream (`.reliable`) message did not reach its peer.
public enum DeliveryFailure: Sendable, Equatable, Hashable {
    /// The peer's process is gone (crashed, or restarted since the message was sent): the connection
    /// was reset.
    case refused
    /// The peer could not be reached (partition or cut in either direction) within the connect timeout.
    case timedOut
}

/// How a message travels.
public enum Transport: Sendable, Equatable, Hashable {
    /// Like UDP: subject to the link's loss, duplication and reordering; silently dropped when the
    /// peer is crashed or unreachable.
    case datagram
    /// Like a TCP stream: ordered per (sender, receiver) pair, never lost or duplicated, delayed by the
    /// link's delay only; fails with `undeliverable` when the peer is crashed or unreachable.
    case reliable
}
