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
}
