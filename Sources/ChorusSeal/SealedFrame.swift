import ChorusWire
import Crypto
// DataProtocol, which swift-crypto takes: from FoundationEssentials where there is one (not the
// whole of Foundation, with its ICU data, in every node).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The envelope of every node-to-node packet and frame when the cluster has a keyring: the frame,
/// header and all, encrypted and authenticated with AES-256-GCM inside a frame of type `sealed`.
///
///     header (8: magic, version, type sealed, length) | key id (4) | salt (16) | counter (8)
///     | ciphertext (the inner frame's length) | tag (16)
///
/// Rules:
/// - The additional authenticated data is the envelope's first 36 bytes (header, key id, salt,
///   counter) followed by the cluster's name: a frame sealed for another cluster, or altered on the
///   way, does not open.
/// - Each sender (a `Sealer`: one per loop that sends) seals under its own subkey,
///   HKDF-SHA256(key, salt: its random 16-byte salt, info: "chorus seal v1"), with the nonce
///   `0000 ‖ counter` and a counter that only grows: a nonce is never used twice under one subkey,
///   however many frames are sent (random 96-bit nonces would wear a key out after about 2^32).
/// - The receiver picks the key by its id and derives the sender's subkey once (`Opener` keeps
///   them).
/// - A frame whose counter this receiver has opened before from the same sender is refused as a
///   replay (`ReplayWindow`: the last 4096 counters of each sender). Not guaranteed: a replay of
///   a frame older than the window is refused too, but one recorded before the receiver started,
///   or before it forgot the sender (past 4096 senders, or when the sender's key is removed),
///   opens again.
public enum SealedFrame {
    /// Key id, salt and counter.
    public static let prefixSize = 4 + 16 + 8
    public static let tagSize = 16
    /// Bytes sealing adds to a frame.
    public static let overhead = FrameHeader.size + prefixSize + tagSize
    static let info = Array("chorus seal v1".utf8)

    static func subkey(_ key: ClusterKey, salt: some DataProtocol) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: key.bytes), salt: salt, info: info, outputByteCount: 32)
    }

    static func nonce(_ counter: UInt64) -> AES.GCM.Nonce {
        withUnsafeBytes(of: counter.bigEndian) { counterBytes in
            var bytes = [UInt8](repeating: 0, count: 12)
            bytes.replaceSubrange(4..<12, with: counterBytes)
            return try! AES.GCM.Nonce(data: bytes)
        }
    }
}

/// Seals the frames one loop sends, under the keyring's primary key (see `SealedFrame`).
/// Owned by that loop: not shared between threads.
public struct Sealer: Sendable {
    private let cluster: [UInt8]
    private let salt: [UInt8]
    private var keyID: KeyID
    private var subkey: SymmetricKey
    private var counter: UInt64 = 0
    /// The additional data, rewritten in place for each frame: header and prefix, then the cluster.
    private var associated: [UInt8]

    /// A sealer for `cluster` under `keyring`'s primary, with its own random `salt` (16 bytes).
    public init(keyring: Keyring, cluster: String, salt: [UInt8]) {
        precondition(salt.count == 16, "a sealer's salt is 16 bytes")
        self.cluster = Array(cluster.utf8)
        self.salt = salt
        keyID = keyring.primary.id
        subkey = SealedFrame.subkey(keyring.primary, salt: salt)
        associated = [UInt8](repeating: 0, count: FrameHeader.size + SealedFrame.prefixSize) + self.cluster
    }

    /// A sealer with a salt from the system's random source.
    public init(keyring: Keyring, cluster: String) {
        var generator = SystemRandomNumberGenerator()
        self.init(keyring: keyring, cluster: cluster, salt: (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Seals with `keyring`'s primary from now on (the counter goes on: nonces stay unique per
    /// subkey even if an earlier key becomes primary again).
    public mutating func rekey(_ keyring: Keyring) {
        guard keyring.primary.id != keyID else { return }
        keyID = keyring.primary.id
        subkey = SealedFrame.subkey(keyring.primary, salt: salt)
    }

    /// The sealed frame of `frame` (a whole frame, header included).
    public mutating func seal(_ frame: [UInt8]) -> [UInt8] {
        counter += 1
        precondition(counter < .max, "a sealer's counter ran out")
        let payloadLength = SealedFrame.prefixSize + frame.count + SealedFrame.tagSize
        var sealed = [UInt8](repeating: 0, count: FrameHeader.size + SealedFrame.prefixSize)
        sealed.reserveCapacity(FrameHeader.size + payloadLength)
        sealed.withUnsafeMutableBytes { bytes in
            FrameHeader(type: .sealed, payloadLength: payloadLength).write(to: bytes.baseAddress!)
            bytes.storeBytes(of: keyID.rawValue.bigEndian, toByteOffset: 8, as: UInt32.self)
            UnsafeMutableRawBufferPointer(rebasing: bytes[12..<28]).copyBytes(from: salt)
            bytes.storeBytes(of: counter.bigEndian, toByteOffset: 28, as: UInt64.self)
        }
        associated.replaceSubrange(0..<sealed.count, with: sealed)
        let box = try! AES.GCM.seal(frame, using: subkey, nonce: SealedFrame.nonce(counter), authenticating: associated)
        sealed.append(contentsOf: box.ciphertext)
        sealed.append(contentsOf: box.tag)
        return sealed
    }
}

/// Opens the sealed frames one loop receives, with whichever key of the keyring sealed them.
/// Owned by that loop: not shared between threads.
public struct Opener: Sendable {
    private let cluster: [UInt8]
    private var keyring: Keyring
    /// Senders' subkeys and replay windows, by key id and salt; emptied when it grows past
    /// `maxSubkeys` (a sender comes back at the cost of one derivation).
    private var senders: [SubkeyTag: (subkey: SymmetricKey, window: ReplayWindow)] = [:]
    private var associated: [UInt8]
    static let maxSubkeys = 4096

    private struct SubkeyTag: Hashable {
        var key: UInt32
        var salt: (UInt64, UInt64)
        static func == (a: SubkeyTag, b: SubkeyTag) -> Bool { a.key == b.key && a.salt == b.salt }
        func hash(into hasher: inout Hasher) {
            hasher.combine(key)
            hasher.combine(salt.0)
            hasher.combine(salt.1)
        }
    }

    public init(keyring: Keyring, cluster: String) {
        self.cluster = Array(cluster.utf8)
        self.keyring = keyring
        associated = [UInt8](repeating: 0, count: FrameHeader.size + SealedFrame.prefixSize) + self.cluster
    }

    /// Opens with these keys from now on (a removed key's senders no longer open; the others
    /// keep their replay windows).
    public mutating func update(_ keyring: Keyring) {
        self.keyring = keyring
        senders = senders.filter { tag, _ in keyring.key(withID: KeyID(rawValue: tag.key)) != nil }
    }

    /// The inner frame of a sealed frame (`sealed` is the whole frame, header included, and its
    /// header says `sealed`).
    public mutating func open(_ sealed: UnsafeRawBufferPointer) throws(SealError) -> [UInt8] {
        let start = FrameHeader.size + SealedFrame.prefixSize
        guard sealed.count >= start + SealedFrame.tagSize else { throw .truncated(sealed.count) }
        let keyID = KeyID(rawValue: UInt32(bigEndian: sealed.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let salt = (UInt64(bigEndian: sealed.loadUnaligned(fromByteOffset: 12, as: UInt64.self)),
                    UInt64(bigEndian: sealed.loadUnaligned(fromByteOffset: 20, as: UInt64.self)))
        let counter = UInt64(bigEndian: sealed.loadUnaligned(fromByteOffset: 28, as: UInt64.self))
        let tag = SubkeyTag(key: keyID.rawValue, salt: salt)
        let subkey: SymmetricKey
        if let known = senders[tag] {
            guard known.window.isFresh(counter) else { throw .replayed(counter) }
            subkey = known.subkey
        } else {
            guard let key = keyring.key(withID: keyID) else { throw .unknownKey(keyID) }
            if senders.count >= Self.maxSubkeys { senders.removeAll() }
            subkey = SealedFrame.subkey(key, salt: UnsafeRawBufferPointer(rebasing: sealed[12..<28]))
            senders[tag] = (subkey, ReplayWindow())
        }
        associated.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: sealed[0..<start])) }
        do {
            let box = try AES.GCM.SealedBox(nonce: SealedFrame.nonce(counter),
                                            ciphertext: UnsafeRawBufferPointer(rebasing: sealed[start..<(sealed.count - SealedFrame.tagSize)]),
                                            tag: UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - SealedFrame.tagSize)...]))
            let opened = Array(try AES.GCM.open(box, using: subkey, authenticating: associated))
            senders[tag]?.window.accept(counter)
            return opened
        } catch {
            throw .unauthentic
        }
    }
}
