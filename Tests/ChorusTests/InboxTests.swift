@testable import Chorus
import Synchronization
import Testing

/// The lock-free inbox that carries plain broadcasts to the data loop.
struct InboxTests {
    @Test("given 4 threads pushing 50,000 items each while one consumer takes, every item comes out once, each thread's in its order, and only the first push into an empty inbox asks for a wake-up")
    func manyProducersOneConsumer() async {
        let inbox = Inbox<[Int]>()
        let producers = 4, perProducer = 50_000
        final class Counters: Sendable {
            let wakeUps = Atomic<Int>(0)
            let done = Atomic<Int>(0)
        }
        let counters = Counters()
        var queue = Inbox<[Int]>.Queue()
        var seen = Array(repeating: -1, count: producers)
        var taken = 0
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for k in 0..<perProducer where inbox.push([producer, k]) { counters.wakeUps.wrappingAdd(1, ordering: .relaxed) }
                    counters.done.wrappingAdd(1, ordering: .relaxed)
                }
            }
            while taken < producers * perProducer {
                let finished = counters.done.load(ordering: .relaxed) == producers
                inbox.takeAll(into: &queue)
                while let item = queue.popFirst() {
                    #expect(item[1] == seen[item[0]] + 1, "producer \(item[0]): \(item[1]) after \(seen[item[0]])")
                    seen[item[0]] = item[1]
                    taken += 1
                }
                if finished && taken < producers * perProducer {
                    inbox.takeAll(into: &queue)
                    #expect(!queue.isEmpty, "items missing after every producer finished")
                }
                await Task.yield()
            }
        }
        #expect(taken == producers * perProducer)
        #expect(seen == Array(repeating: perProducer - 1, count: producers))
        #expect(counters.wakeUps.load(ordering: .relaxed) >= 1)
        inbox.takeAll(into: &queue)
        #expect(queue.isEmpty)
    }

    @Test("given items left in an inbox and in a queue, peek reads the oldest without taking it, and dropping both frees every item")
    func peekAndRelease() {
        final class LiveCount: Sendable { let value = Atomic<Int>(0) }
        final class Tracked: Sendable {
            let live: LiveCount
            init(_ live: LiveCount) { self.live = live; live.value.wrappingAdd(1, ordering: .relaxed) }
            deinit { live.value.wrappingSubtract(1, ordering: .relaxed) }
        }
        let live = LiveCount()
        do {
            let inbox = Inbox<Tracked>()
            var queue = Inbox<Tracked>.Queue()
            for _ in 0..<10 { _ = inbox.push(Tracked(live)) }
            inbox.takeAll(into: &queue)
            for _ in 0..<5 { _ = inbox.push(Tracked(live)) }
            #expect(live.value.load(ordering: .relaxed) == 15)
            #expect(queue.peek { $0 === $0 } == true)
            _ = queue.popFirst()
            #expect(live.value.load(ordering: .relaxed) == 14)
        }
        #expect(live.value.load(ordering: .relaxed) == 0, "the inbox's and the queue's items are released with them")
    }
}
