import Atomics

/// Work handed from any thread to one consumer (a loop) without a lock and without a closure per
/// item: the hot paths' way onto the data loop (plain broadcasts to remote members, joins).
///
/// Producers push onto a lock-free stack (one compare-and-swap); the push that finds the stack
/// empty is the one that must wake the consumer (one loop job per batch, however many items
/// arrive before it runs). The consumer takes the whole stack in one exchange and reverses it, so
/// items come out in the order they were pushed.
final class Inbox<Element: Sendable>: Sendable {
    private final class Node: AtomicReference, @unchecked Sendable {
        // Safety of @unchecked Sendable: `element` is set before the node is published and never
        // changed; `next` is written only by the pushing thread before its releasing CAS publishes
        // the node, and by the consumer after its acquiring exchange took it.
        let element: Element
        var next: Node?

        init(_ element: Element) { self.element = element }
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

    /// Takes every item pushed so far, oldest first. For the one consumer only.
    func takeAll() -> [Element] {
        var node = top.exchange(nil, ordering: .acquiring)
        var elements: [Element] = []
        while let current = node {
            elements.append(current.element)
            node = current.next
            current.next = nil // no long chain for the releases to walk recursively
        }
        elements.reverse()
        return elements
    }
}
