@testable import ChorusSeal
import ChorusWire
import Testing

/// Sealed frames: what opens, what does not, and why.
struct SealedFrameTests {
    static let key = ClusterKey(bytes: Array(0..<32))
    static let other = ClusterKey(bytes: Array(100..<132))
    static let frame = WireCodec.encode(.transportProbe(Array("hello, cluster".utf8)))

    static func sealer(_ keyring: Keyring, cluster: String = "c1", salt: UInt8 = 7) -> Sealer {
        Sealer(keyring: keyring, cluster: cluster, salt: [UInt8](repeating: salt, count: 16))
    }

    static func open(_ sealed: [UInt8], _ keyring: Keyring, cluster: String = "c1") -> Result<[UInt8], SealError> {
        var opener = Opener(keyring: keyring, cluster: cluster)
        return sealed.withUnsafeBytes { bytes in Result { () throws(SealError) in try opener.open(bytes) } }
    }

    @Test("given a frame sealed under the keyring, when opened with it, then the frame comes back whole, in a sealed frame 52 bytes longer")
    func roundTrip() throws {
        var sealer = Self.sealer(Keyring(primary: Self.key))
        let sealed = sealer.seal(Self.frame)
        #expect(sealed.count == Self.frame.count + SealedFrame.overhead)
        let header = try sealed.withUnsafeBytes { try FrameHeader.parse($0, maxPayload: 1 << 20) }
        #expect(header.type == .sealed && header.payloadLength == sealed.count - FrameHeader.size)
        #expect(try Self.open(sealed, Keyring(primary: Self.key)).get() == Self.frame)
        #expect(!sealed.contains(subsequence: Array("hello, cluster".utf8)), "the payload does not travel in clear")
    }

    @Test("given two frames from one sealer, then their counters differ and so do their bytes, though the frames are equal")
    func nonceNeverRepeats() {
        var sealer = Self.sealer(Keyring(primary: Self.key))
        let first = sealer.seal(Self.frame), second = sealer.seal(Self.frame)
        #expect(first != second)
        #expect(Array(first[28..<36]) == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(Array(second[28..<36]) == [0, 0, 0, 0, 0, 0, 0, 2])
    }

    @Test("given any one byte of a sealed frame flipped, then it does not open")
    func tamperingFails() {
        var sealer = Self.sealer(Keyring(primary: Self.key))
        let sealed = sealer.seal(Self.frame)
        for index in sealed.indices {
            var altered = sealed
            altered[index] ^= 0x01
            if case .success = Self.open(altered, Keyring(primary: Self.key)) {
                Issue.record("a frame altered at byte \(index) opened")
            }
        }
    }

    @Test("given another cluster's name, or another key with the same id slot, then the frame does not open: unauthentic or unknown key")
    func wrongClusterOrKey() {
        var sealer = Self.sealer(Keyring(primary: Self.key))
        let sealed = sealer.seal(Self.frame)
        #expect(Self.open(sealed, Keyring(primary: Self.key), cluster: "c2") == .failure(.unauthentic))
        #expect(Self.open(sealed, Keyring(primary: Self.other)) == .failure(.unknownKey(Self.key.id)))
        #expect(Self.open(Array(sealed.prefix(40)), Keyring(primary: Self.key)) == .failure(.truncated(40)))
    }

    @Test("given a rotation (install, use, remove), then frames sealed under either key open while both are held, and the old key's no longer after its removal")
    func rotation() throws {
        var keyring = Keyring(primary: Self.key)
        var sealer = Self.sealer(keyring)
        let old = sealer.seal(Self.frame)
        let installed = keyring.install(Self.other)
        let again = keyring.install(Self.other)
        let used = try keyring.use(Self.other)
        #expect(installed && !again, "installing twice changes nothing")
        #expect(used)
        sealer.rekey(keyring)
        let new = sealer.seal(Self.frame)
        #expect(Array(new[8..<12]) != Array(old[8..<12]), "sealed under the new key's id")
        #expect(try Self.open(old, keyring).get() == Self.frame)
        #expect(try Self.open(new, keyring).get() == Self.frame)
        var attempt = keyring
        #expect(throws: KeyringError.removingPrimary(Self.other.id)) { try attempt.remove(Self.other) }
        try keyring.remove(Self.key)
        #expect(Self.open(old, keyring) == .failure(.unknownKey(Self.key.id)))
        #expect(try Self.open(new, keyring).get() == Self.frame)
        var removed = keyring
        #expect(throws: KeyringError.unknownKey(Self.key.id)) { try removed.use(Self.key) }
    }

    @Test("given an opener that saw a sender, when the keyring drops that sender's key, then the cached subkey no longer opens its frames")
    func removalReachesCachedSubkeys() throws {
        var both = Keyring(primary: Self.other, others: [Self.key])
        var sealer = Self.sealer(Keyring(primary: Self.key))
        var opener = Opener(keyring: both, cluster: "c1")
        let first = sealer.seal(Self.frame)
        let opened = try first.withUnsafeBytes { bytes throws(SealError) in try opener.open(bytes) }
        #expect(opened == Self.frame)
        try both.remove(Self.key)
        opener.update(both)
        let second = sealer.seal(Self.frame)
        let refused = second.withUnsafeBytes { bytes in Result { () throws(SealError) in try opener.open(bytes) } }
        #expect(refused == .failure(.unknownKey(Self.key.id)))
    }

    @Test("given a frame opened once, when the same bytes come again, then they are refused as a replay; later frames still open, even out of order")
    func replayRefused() throws {
        var sealer = Self.sealer(Keyring(primary: Self.key))
        var opener = Opener(keyring: Keyring(primary: Self.key), cluster: "c1")
        let frames = (0..<5).map { _ in sealer.seal(Self.frame) }
        func open(_ sealed: [UInt8]) -> Result<[UInt8], SealError> {
            sealed.withUnsafeBytes { bytes in Result { () throws(SealError) in try opener.open(bytes) } }
        }
        #expect(try open(frames[0]).get() == Self.frame)
        #expect(open(frames[0]) == .failure(.replayed(1)))
        #expect(try open(frames[3]).get() == Self.frame, "a later frame")
        #expect(try open(frames[1]).get() == Self.frame, "an earlier one not seen yet, within the window")
        #expect(open(frames[3]) == .failure(.replayed(4)))
        var forged = frames[2]
        forged[forged.count - 1] ^= 1
        #expect(open(forged) == .failure(.unauthentic))
        #expect(try open(frames[2]).get() == Self.frame, "a forged copy did not use up its counter")
    }

    @Test("given a replay window, then each counter is fresh once, counters far below the highest are refused, and a big jump forgets the old marks")
    func replayWindow() {
        var window = ReplayWindow()
        #expect(!window.isFresh(0))
        for counter: UInt64 in [1, 3, 2, 64, 65, 200] {
            #expect(window.isFresh(counter), "\(counter)")
            window.accept(counter)
            #expect(!window.isFresh(counter), "\(counter) again")
        }
        #expect(window.isFresh(4) && window.isFresh(63) && !window.isFresh(65))
        window.accept(200 + ReplayWindow.size)
        #expect(!window.isFresh(200), "below the window now")
        #expect(window.isFresh(300 + ReplayWindow.size - 64))
        window.accept(300 + ReplayWindow.size - 64)
        #expect(!window.isFresh(300 + ReplayWindow.size - 64))
    }

    @Test("given keys in base64, then a key is 32 bytes exactly, shows only its id, and a keyring file reads back as written")
    func keysAndFiles() throws {
        let key = ClusterKey.generate()
        #expect(try ClusterKey(base64: key.base64) == key)
        #expect(try ClusterKey(base64: "  \(key.base64)\n") == key)
        #expect(throws: KeyringError.self) { try ClusterKey(base64: "c2hvcnQ=") }
        #expect(throws: KeyringError.self) { try ClusterKey(base64: "not base64 at all") }
        #expect("\(key)" == "key \(key.id)" && !"\(key)".contains(key.base64))
        let keyring = Keyring(primary: key, others: [Self.key, Self.other])
        #expect(try Keyring(file: keyring.file) == keyring)
        #expect(throws: KeyringError.self) { try Keyring(file: "# nothing here\n") }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
