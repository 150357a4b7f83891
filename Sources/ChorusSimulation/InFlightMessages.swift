import ChorusCore
/// Messages on their way, kept beside the event queue so queued events stay small and trivial.
/// Slots are reused through a free list, so a steady run does not grow it.
@usableFromInline struct InFlightMessages<Message> {
    @usableFromInline var slots: [Message?] = []
    @usableFromInline var free: [Int32] = []

    @inlinable init() {}

    /// Messages currently stored.
    @inlinable var count: Int { slots.count - free.count }

    /// Stores `message` and returns its slot.
    @inlinable mutating func insert(_ message: Message) -> Int32 {
        if let slot = free.popLast() {
            slots[Int(slot)] = message
            return slot
        }
        slots.append(message)
        return Int32(slots.count - 1)
    }

    /// Removes the message in `slot` and returns it.
    @inlinable mutating func take(_ slot: Int32) -> Message {
        let message = slots[Int(slot)].take()!
        free.append(slot)
        return message
    }

    /// Drops the message in `slot`.
    @inlinable mutating func discard(_ slot: Int32) {
        slots[Int(slot)] = nil
        free.append(slot)
    }
}
