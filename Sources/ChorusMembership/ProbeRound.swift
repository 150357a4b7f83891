import ChorusCore
import ChorusWire

/// The probe of one member in one protocol period (SWIM §3.1, Lifeguard §4.1).
///
/// A direct ping; if no ack by `directDeadline`, ping requests to `k` helpers and a ping over TCP;
/// if still no ack by `roundDeadline`, the member is suspected. Helpers that cannot reach the
/// target answer with a nack, which tells us that they, at least, are alive: missing nacks point
/// at our own slowness and raise local health.
struct ProbeRound: Sendable {
    let sequence: UInt32
    let target: MemberID
    let targetAddress: String
    let directDeadline: ProtocolTime
    let roundDeadline: ProtocolTime
    var acked = false
    var indirectSent = false
    var nacksExpected = 0
    var nacksReceived = 0
}

/// A ping we send on behalf of another member (we are its helper in an indirect probe).
struct Relay: Sendable {
    let requester: String
    let requesterSequence: UInt32
    /// When to tell the requester "no answer yet" (80% of the probe timeout, as memberlist).
    let nackAt: ProtocolTime
    let expiresAt: ProtocolTime
    var nacked = false
}
