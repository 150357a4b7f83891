/// Why a node dropped a packet or frame: the `reason` label of `chorus_dropped_packets_total`.
/// The set is closed, so every reason is scrapeable (as 0) from the start.
enum DropReason: String, CaseIterable {
    /// It does not decode (truncated, bad magic, unknown type, oversized, a body that does not
    /// parse) or breaks the link protocol (a message on the wrong transport, a second hello);
    /// or it was for an address that is not a numeric host:port.
    case malformed
    /// It is framed in a wire version this node does not speak: a node of another release.
    case badVersion = "bad_version"
    /// Its sender belongs to another cluster (its hello names another cluster).
    case foreignCluster = "foreign_cluster"
    /// This node does not know its sender: a frame before the link's hello, a groups message from
    /// a node membership does not report alive.
    case unknownSender = "unknown_sender"
    /// The faults injected for tests (`debug_faults`) dropped it, inbound or outbound.
    case faultInjected = "fault_injected"
    /// In clear, but this cluster seals its traffic (see docs/sealing.md for the sealing reasons).
    case unsealed
    /// Sealed, but this node has no keyring (insecure).
    case sealed
    /// Shorter than a sealed envelope can be.
    case sealedTruncated = "sealed_truncated"
    /// Sealed under a key this node's keyring does not hold (another cluster's, or one removed).
    case unknownKey = "unknown_key"
    /// Its tag does not check: a wrong key, another cluster's name, or bytes changed on the way.
    case unauthentic
    /// A frame of this sender opened before (or too old to tell).
    case replayed
    /// Its peer's link already held `PeerLink.maxOverflowBytes` unsent: the peer reads slower
    /// than this node sends.
    case linkOverflow = "link_overflow"

    /// The reason for a drop as its call site names it: a reason above, or a finer cause
    /// (`bad_magic`, `no_hello`, ... as logged) counted under the reason it belongs to.
    init(cause: String) {
        if let reason = DropReason(rawValue: cause) {
            self = reason
        } else if cause == "no_hello" {
            self = .unknownSender
        } else {
            // truncated, bad_magic, unknown_type, oversized, unexpected_type, second_hello, bad_address
            self = .malformed
        }
    }
}

/// The transport a dropped packet or frame came or went by: the `transport` label.
enum DropTransport: String, CaseIterable {
    case udp
    case tcp
}
