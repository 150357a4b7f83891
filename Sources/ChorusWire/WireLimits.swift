/// Size limits of the wire format. A decoder rejects anything above them before reading it,
/// so a hostile or corrupt length can never make a node allocate or wait for more.
public enum WireLimits {
    /// Largest frame payload a node accepts by default (16 MiB).
    public static let maxFramePayload = 16 * 1024 * 1024
    /// Largest UDP datagram a node sends or accepts: fits a 1500-byte Ethernet MTU with room
    /// for IP/UDP headers and the encryption envelope, so datagrams are never fragmented.
    public static let maxUDPPacket = 1400
    /// Largest UTF-8 string field, in bytes (names, addresses, software versions).
    public static let maxStringBytes = 1024

    /// A member's name: at most 255 bytes of UTF-8.
    public static let maxMemberName = 255
    /// A `"host:port"` address: at most 255 bytes.
    public static let maxAddress = 255
    /// A member's metadata: at most 4 KiB. Metadata that does not fit a datagram travels only in
    /// TCP syncs (memberlist caps it at 512 bytes so that it always fits; see issue #191 there).
    public static let maxMemberMeta = 4096
    /// Gossip items in one membership datagram.
    public static let maxGossipPerPacket = 64
    /// Members in one membership sync.
    public static let maxSyncMembers = 100_000
}
