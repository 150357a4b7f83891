import ChorusMembership
import Testing

@Suite("Piggybacked news queue")
struct BroadcastQueueTests {
    @Test("the retransmit limit grows with log10 of the cluster size", arguments: [
        (10, 8), (100, 12), (1000, 16), (10_000, 20), (1, 4), (0, 4),
    ])
    func retransmitLimit(size: Int, expected: Int) {
        #expect(BroadcastQueue<String>.retransmitLimit(clusterSize: size, multiplier: 4) == expected)
    }

    @Test("given news of different ages, a packet takes the newest first and as many as fit")
    func newestFirstWithinBudget() {
        var queue = BroadcastQueue<String>()
        for name in ["a", "b", "c", "d"] { queue.enqueue("news-\(name)", subject: name, size: 100) }
        let packet = queue.take(budget: 330, overheadPerItem: 10, limit: 3)
        #expect(packet == ["news-d", "news-c", "news-b"])
        // Least-sent first: "a" has never gone out, so it leads the next packet.
        #expect(queue.take(budget: 330, overheadPerItem: 10, limit: 3) == ["news-a", "news-d", "news-c"])
    }

    @Test("given newer news about a subject, the older news is never sent")
    func newerNewsReplacesOlder() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("x suspect", subject: "x", size: 10)
        queue.enqueue("y alive", subject: "y", size: 10)
        queue.enqueue("x alive again", subject: "x", size: 10)
        #expect(queue.count == 2)
        #expect(queue.take(budget: 1000, overheadPerItem: 0, limit: 5) == ["x alive again", "y alive"])
    }

    @Test("given a limit of n sends, each item goes out n times and then leaves the queue")
    func itemsExpire() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("one", subject: "1", size: 10)
        var sends = 0
        while !queue.isEmpty {
            sends += queue.take(budget: 100, overheadPerItem: 0, limit: 4).count
        }
        #expect(sends == 4)
    }

    @Test("an item bigger than the budget waits; smaller ones behind it still go")
    func oversizedItemWaits() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("small", subject: "s", size: 10)
        queue.enqueue("big", subject: "b", size: 500)
        #expect(queue.take(budget: 100, overheadPerItem: 0, limit: 3) == ["small"])
        #expect(queue.take(budget: 600, overheadPerItem: 0, limit: 3) == ["big", "small"])
    }
}

extension BroadcastQueueTests {
    @Test("given one item and room for many, a packet carries it once, however many sends it has left")
    func oncePerPacket() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("only", subject: "o", size: 10)
        #expect(queue.take(budget: 1000, overheadPerItem: 0, limit: 5) == ["only"])
        #expect(queue.take(budget: 1000, overheadPerItem: 0, limit: 5) == ["only"])
    }

    @Test("given a long queue of items too big for what is left, a packet stops looking and the items wait")
    func boundedSearch() {
        var queue = BroadcastQueue<String>()
        queue.enqueue("small", subject: "s", size: 10)
        for index in 0 ..< 100 { queue.enqueue("big-\(index)", subject: "b\(index)", size: 500) }
        #expect(queue.take(budget: 100, overheadPerItem: 0, limit: 3).isEmpty, "16 big ones are passed over, then it stops")
        #expect(queue.count == 101)
        #expect(queue.take(budget: 600, overheadPerItem: 0, limit: 3) == ["big-99"])
    }
}
