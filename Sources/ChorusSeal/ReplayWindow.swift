/// The counters a receiver has opened from one sender (one subkey), so that a frame recorded and
/// sent again is refused: the highest counter seen, and which of the `size` counters below it
/// were seen too (a bitmap, as IPsec's anti-replay window).
///
/// Rules: a counter above the highest is new (the window slides up to it); one within the window
/// is new once; one below the window is refused, as it can no longer be told apart from a replay.
/// A sender's frames reach a receiver over several links and as datagrams, so they may arrive a
/// little out of order: the window is wide enough for that.
struct ReplayWindow: Sendable {
    static let size: UInt64 = 4096
    private(set) var highest: UInt64 = 0
    /// Bit `i` of the bitmap: counter `highest - i` was seen.
    private var seen = [UInt64](repeating: 0, count: Int(size / 64))

    /// Whether `counter` (never 0: a sealer starts at 1) may be accepted; it is marked only by
    /// `accept` (after the frame authenticated, so that a forged frame cannot burn a counter).
    func isFresh(_ counter: UInt64) -> Bool {
        guard counter > 0 else { return false }
        if counter > highest { return true }
        let age = highest - counter
        guard age < Self.size else { return false }
        return seen[Int(age / 64)] & (1 << (age % 64)) == 0
    }

    mutating func accept(_ counter: UInt64) {
        if counter > highest {
            shift(by: counter - highest)
            highest = counter
        }
        let age = highest - counter
        seen[Int(age / 64)] |= 1 << (age % 64)
    }

    /// Ages every mark by `distance`.
    private mutating func shift(by distance: UInt64) {
        guard distance < Self.size else {
            for index in seen.indices { seen[index] = 0 }
            return
        }
        let words = Int(distance / 64), bits = distance % 64
        for index in seen.indices.reversed() {
            let source = index - words
            var value: UInt64 = source >= 0 ? seen[source] << bits : 0
            if bits > 0, source - 1 >= 0 { value |= seen[source - 1] >> (64 - bits) }
            seen[index] = value
        }
    }
}
