import Synchronization

/// The emitter groups of one directory snapshot, by subscription: what every broadcast looks up.
///
/// An open-addressing table built once per snapshot and only read after, hashed with a
/// multiply-xor over each name's bytes, eight at a time, and its length, from a per-process random
/// basis. It costs a fraction of the standard library's SipHash on this path, and a lookup compares
/// the names themselves, so a collision costs a probe, never a wrong answer. The slot found last
/// is remembered (a relaxed atomic, written only when it changes), and tried first: a node that
/// broadcasts to one subscription again and again compares two names and hashes nothing.
struct EmitterTable: Sendable {
    /// One subscription's emitter group: its distinct members in the cluster and, beside each, its
    /// endpoint when it is a live member of this node.
    final class Route: Sendable {
        let store: String
        let subscription: String
        let members: [GroupMemberID]
        let endpoints: [MemberEndpoint?]

        init(store: String, subscription: String, members: [GroupMemberID], endpoints: [MemberEndpoint?]) {
            self.store = store
            self.subscription = subscription
            self.members = members
            self.endpoints = endpoints
        }
    }

    private let slots: [Route?]
    private let mask: Int
    private let basis: UInt64
    private let lastFound = LastFound()

    /// The slot of the last route found.
    private final class LastFound: Sendable {
        let slot = Atomic<Int>(0)
    }

    /// A table of `routes` (each subscription once), at most half full.
    init(_ routes: [Route], basis: UInt64) {
        var capacity = 8
        while capacity < routes.count * 2 { capacity *= 2 }
        var slots = [Route?](repeating: nil, count: capacity)
        for route in routes {
            var index = Int(truncatingIfNeeded: Self.hash(route.store, route.subscription, basis: basis)) & (capacity - 1)
            while slots[index] != nil { index = (index + 1) & (capacity - 1) }
            slots[index] = route
        }
        self.slots = slots
        self.mask = capacity - 1
        self.basis = basis
    }

    /// The group of `(store, subscription)`, or nil when nobody joined it.
    @inline(__always)
    func route(store: String, subscription: String) -> Route? {
        let remembered = lastFound.slot.load(ordering: .relaxed)
        if let route = slots[remembered], route.store == store, route.subscription == subscription { return route }
        var index = Int(truncatingIfNeeded: Self.hash(store, subscription, basis: basis)) & mask
        while let route = slots[index] {
            if route.store == store && route.subscription == subscription {
                lastFound.slot.store(index, ordering: .relaxed)
                return route
            }
            index = (index + 1) & mask
        }
        return nil
    }

    @inline(__always)
    private static func hash(_ store: String, _ subscription: String, basis: UInt64) -> UInt64 {
        var hash = basis
        mix(&hash, store)
        mix(&hash, subscription)
        return hash
    }

    /// Folds a name into the hash: its bytes eight at a time, then the rest with its length (so
    /// that moving bytes from one name to the other changes the hash).
    @inline(__always)
    private static func mix(_ hash: inout UInt64, _ text: String) {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        let mixed: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            var index = 0
            while index + 8 <= bytes.count {
                hash = (hash ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* multiplier
                hash ^= hash >> 32
                index += 8
            }
            var tail = UInt64(bytes.count) << 56
            var shift: UInt64 = 0
            while index < bytes.count {
                tail |= UInt64(bytes[index]) << shift
                shift += 8
                index += 1
            }
            hash = (hash ^ tail) &* multiplier
            hash ^= hash >> 29
        }
        if mixed == nil {
            var slow = text
            slow.makeContiguousUTF8()
            mix(&hash, slow)
        }
    }
}
