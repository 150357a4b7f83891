import Atomics

/// Work handed from any thread to one consumer (a loop) without a lock and without a closure per
/// item: the way plain broadcasts to remote members reach the data loop.
///
/// Producers push onto a lock-free stack (one compare-and-swap); the push that finds the stack
/// empty is the one that must wake the consumer (one loop job per batch, however many items
/// arrive before it runs). The consumer takes the whole stack in one exchange into its `Queue`,
/// relinking the nodes in push order: no array is built and no item is copied.
final class Inbox<Element: Sendable>: Sendable {
    fileprivate final class Node: AtomicReference, @unchecked Sendable {
        // Safety of @unchecked Sendable: `element` is set before the node is published and never
        // changed; `next` is written only by the pushing thread before its releasing CAS publishes
        // the node, and by the consumer after its acquiring exchange took it.
        let element: Element
        var next: Node?

        init(_ element: Element) { self.element = element }
    }

    /// Items taken from the inbox, oldest first, for the consumer to work through at its pace.
    struct Queue {
        fileprivate var head: Node?
        fileprivate var tail: Node?

        init() {}

        var isEmpty: Bool { head == nil }

        /// The oldest item, or nil.
        var first: Element? { head?.element }

        /// Drops the oldest item.
        mutating func removeFirst() {
            guard let node = head else { return }
            head = node.next
            node.next = nil
            if head == nil { tail = nil }
        }
    }

    private let top = ManagedAtomic<Node?>(nil)

    init() {}

    /// Pushes an item; true when the inbox was empty, so the caller must wake the consumer.
    func push(_ element: Element) -> Bool {
        let node = Node(element)
        var current = top.load(ordering: .relaxed)
        while true {
            node.next = current
            let (exchanged, original) = top.compareExchange(expected: current, desired: node, ordering: .releasing)
            if exchanged { return current == nil }
            current = original
        }
    }

    /// Moves every item pushed so far to the end of `queue`, oldest first. For the one consumer only.
    func takeAll(into queue: inout Queue) {
        var node = top.exchange(nil, ordering: .acquiring)
        guard let newest = node else { return }
        // The stack runs newest to oldest: reverse its links.
        var reversed: Node? = nil
        while let current = node {
            node = current.next
            current.next = reversed
            reversed = current
        }
        if let tail = queue.tail { tail.next = reversed } else { queue.head = reversed }
        queue.tail = newest
    }
}
