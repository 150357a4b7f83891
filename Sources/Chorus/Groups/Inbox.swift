import Synchronization

/// Work handed from any thread to one consumer (a loop) without a lock and without a closure per
/// item: the way plain broadcasts to remote members reach the data loop.
///
/// Producers push onto a lock-free stack (one compare-and-swap); the push that finds the stack
/// empty is the one that must wake the consumer (one loop job per batch, however many items
/// arrive before it runs). The consumer takes the whole stack in one exchange into its `Queue`,
/// relinking the nodes in push order: no array is built and no item is copied.
final class Inbox<Element: Sendable>: Sendable {
    fileprivate final class Node: @unchecked Sendable {
        // Safety of @unchecked Sendable: `element` is set before the node is published, and
        // taken out only by the consumer; `below` is written only by the pushing thread before
        // its releasing CAS publishes the node; `next` only by the consumer, after its acquiring
        // exchange took it.
        var element: Element?
        /// The node pushed before this one (owned by the stack: +1 each, as `top` is).
        var below: UnsafeMutableRawPointer?
        /// The next node of the consumer's queue.
        var next: Node?

        init(_ element: Element) { self.element = element }
    }

    /// Items taken from the inbox, oldest first, for the consumer to work through at its pace.
    struct Queue {
        fileprivate var head: Node?
        fileprivate var tail: Node?

        init() {}

        var isEmpty: Bool { head == nil }

        /// Reads a part of the oldest item, or nil when there is none (without copying the item).
        func peek<T>(_ part: (borrowing Element) -> T) -> T? {
            guard let head, let element = head.element else { return nil }
            return part(element)
        }

        /// Takes the oldest item out (moved, not copied).
        mutating func popFirst() -> Element? {
            guard let node = head else { return nil }
            head = node.next
            node.next = nil
            if head == nil { tail = nil }
            return node.element.take()
        }
    }

    /// The newest node pushed, retained once for the stack (a plain pointer, so that a push is one
    /// compare-and-swap of a word, without the reference counting of an atomic reference).
    private let top = Atomic<UInt>(0)

    init() {}

    deinit {
        var pointer = UnsafeMutableRawPointer(bitPattern: top.exchange(0, ordering: .acquiring))
        while let current = pointer {
            let node = Unmanaged<Node>.fromOpaque(current).takeRetainedValue()
            pointer = node.below
        }
    }

    /// Pushes an item; true when the inbox was empty, so the caller must wake the consumer.
    func push(_ element: Element) -> Bool {
        let node = Unmanaged.passRetained(Node(element))
        let pointer = UInt(bitPattern: node.toOpaque())
        var current = top.load(ordering: .relaxed)
        while true {
            node._withUnsafeGuaranteedRef { $0.below = UnsafeMutableRawPointer(bitPattern: current) }
            let (exchanged, original) = top.compareExchange(expected: current, desired: pointer, ordering: .releasing)
            if exchanged { return current == 0 }
            current = original
        }
    }

    /// Moves every item pushed so far to the end of `queue`, oldest first. For the one consumer only.
    func takeAll(into queue: inout Queue) {
        var pointer = UnsafeMutableRawPointer(bitPattern: top.exchange(0, ordering: .acquiring))
        guard pointer != nil else { return }
        // The stack runs newest to oldest: link the nodes the other way as they are taken over.
        var newest: Node?
        var reversed: Node? = nil
        while let current = pointer {
            let node = Unmanaged<Node>.fromOpaque(current).takeRetainedValue()
            pointer = node.below
            node.below = nil
            node.next = reversed
            reversed = node
            if newest == nil { newest = node }
        }
        if let tail = queue.tail { tail.next = reversed } else { queue.head = reversed }
        queue.tail = newest
    }
}
