import ChorusSeal
import ChorusWire

/// The sealing of one loop's node-to-node traffic (see `SealedFrame`): it seals every frame the
/// loop sends and opens every frame it receives, before anything parses what the frame holds.
/// Owned by its loop (its sealer's counter and its opener's subkeys are that loop's alone).
struct LoopSeal {
    private var sealer: Sealer
    private var opener: Opener
    /// The version of the keyring in use (`NodeKeyring` numbers every change).
    private var version: UInt64

    init(keyring: Keyring, version: UInt64, cluster: String) {
        sealer = Sealer(keyring: keyring, cluster: cluster)
        opener = Opener(keyring: keyring, cluster: cluster)
        self.version = version
    }

    /// Takes a changed keyring: seals with its primary, opens with its keys. An older version
    /// than the one in use (two changes that reached the loop out of order) is ignored.
    mutating func update(_ keyring: Keyring, version: UInt64) {
        guard version > self.version else { return }
        self.version = version
        sealer.rekey(keyring)
        opener.update(keyring)
    }

    mutating func seal(_ frame: [UInt8]) -> [UInt8] { sealer.seal(frame) }

    /// Why a received frame was refused: its reason labels the dropped-packet counters.
    struct Refusal: Error, CustomStringConvertible {
        var reason: String
        var description: String
    }

    /// The inner frame of a received frame, which must be a sealed one.
    mutating func open(_ frame: UnsafeRawBufferPointer, maxPayload: Int) throws(Refusal) -> [UInt8] {
        let header: FrameHeader
        do {
            header = try FrameHeader.parse(frame, maxPayload: maxPayload + SealedFrame.overhead)
        } catch {
            throw Refusal(reason: error.reasonLabel, description: "\(error)")
        }
        guard header.type == .sealed else {
            throw Refusal(reason: "unsealed", description: "a \(header.type) frame in clear, but this cluster seals its traffic")
        }
        do {
            return try opener.open(frame)
        } catch {
            throw Refusal(reason: error.reason, description: "\(error)")
        }
    }
}
