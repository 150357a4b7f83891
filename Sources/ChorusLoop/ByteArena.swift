/// A growable run of raw bytes with a read and a write end, used for a connection's outbound batch
/// and inbound buffer. Not thread-safe: it belongs to one connection on one loop.
@usableFromInline
struct ByteArena {
    @usableFromInline private(set) var base: UnsafeMutableRawPointer
    @usableFromInline private(set) var capacity: Int
    /// Bytes written so far.
    @usableFromInline var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    var freeCount: Int { capacity - count }
    var isEmpty: Bool { count == 0 }
    var writePointer: UnsafeMutableRawPointer { base + count }

    /// Makes room for at least `extra` more bytes, doubling the capacity as needed.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Drops the first `consumed` bytes, moving the rest to the front.
    mutating func discardFront(_ consumed: Int) {
        guard consumed > 0 else { return }
        let rest = count - consumed
        if rest > 0 { base.copyMemory(from: base + consumed, byteCount: rest) }
        count = rest
    }

    /// Gives the memory back. The arena must not be used afterwards.
    mutating func free() {
        base.deallocate()
        capacity = 0
        count = 0
    }
}
