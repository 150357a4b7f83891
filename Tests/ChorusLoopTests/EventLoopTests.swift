@testable import ChorusLoop
import ChorusTestSupport
import Synchronization
import Testing

@Suite("Event loop: threads, executor, shutdown", .timeLimit(.minutes(1)))
struct EventLoopTests {
    @Test("given a loop, when work is submitted from another thread, then it runs on the loop's thread")
    func executeRunsOnLoopThread() async throws {
        try await withLoop { loop in
            #expect(!loop.inLoop)
            let ranInLoop = try await loop.submit { loop.inLoop }
            #expect(ranInLoop)
        }
    }

    @Test("given a loop that has shut down, when work is submitted, then it does not run and submit throws ESHUTDOWN")
    func submitAfterShutdownThrows() async throws {
        let loop = try EventLoop(name: "test-gone")
        try loop.shutdown()
        let ran = Recorder<Bool>()
        do {
            try await loop.submit { ran.append(true) }
            Issue.record("submit to a shut-down loop returned")
        } catch let error as LoopError {
            #expect(error.name == "ESHUTDOWN", "\(error)")
        }
        #expect(ran.count == 0)
    }

    @Test("given many submissions from another thread, then they run in order and share wake-ups")
    func submissionsAreOrderedAndCoalesced() async throws {
        try await withLoop { loop in
            let seen = Recorder<Int>()
            let done = Handoff<Int>()
            let count = 100_000
            for i in 0..<count {
                loop.execute {
                    seen.append(i)
                    if i == count - 1 { done.put(loop.wakeupCount) }
                }
            }
            let wakeups = await done.value
            #expect(seen.all == Array(0..<count))
            #expect(wakeups < count, "every submission woke the loop: no coalescing")
        }
    }

    @Test("given work submitted on the loop itself, then it runs after the current callback, before blocking")
    func localSubmissionRunsAfterCurrentCallback() async throws {
        try await withLoop { loop in
            let order = try await loop.submit { () -> [String] in
                let log = Recorder<String>()
                loop.execute { log.append("inner") }
                log.append("outer")
                return log.all
            }
            #expect(order == ["outer"])
            let later = Handoff<Bool>()
            loop.execute { loop.execute { later.put(true) } }
            #expect(await later.value)
        }
    }

    actor PinnedCounter {
        let loop: EventLoop
        var count = 0
        init(loop: EventLoop) { self.loop = loop }
        nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
        func increment() -> (Int, Bool) {
            count += 1
            return (count, loop.inLoop)
        }
    }

    @Test("given an actor pinned to a loop, when it is called, then it runs on the loop's thread")
    func actorRunsOnLoop() async throws {
        try await withLoop { loop in
            let counter = PinnedCounter(loop: loop)
            var last = 0
            for _ in 0..<1000 {
                let (value, onLoop) = await counter.increment()
                #expect(onLoop)
                last = value
            }
            #expect(last == 1000)
        }
    }

    @Test("given a task that prefers a loop, then each of its steps runs on the loop's thread, and its submissions wake nobody")
    func taskPreferringLoopRunsOnIt() async throws {
        try await withLoop { loop in
            let (steps, wakeups) = await Task(executorPreference: loop) { () -> ([Bool], Int) in
                var steps = [loop.inLoop]
                let before = try? await loop.submit { loop.wakeupCount }
                for _ in 0..<100 {
                    // When: it hands work to the loop from the loop's thread
                    steps.append((try? await loop.submit { loop.inLoop }) ?? false)
                    steps.append(loop.inLoop)
                }
                let after = try? await loop.submit { loop.wakeupCount }
                return (steps, (after ?? -1) - (before ?? 0))
            }.value
            // Then
            #expect(steps.count == 201 && steps.allSatisfy { $0 }, "\(steps.filter { !$0 }.count) steps ran off the loop")
            #expect(wakeups == 0, "\(wakeups) wake-ups for work submitted on the loop's own thread")
        }
    }

    @Test("given a task and an actor on a loop that shuts down under them, then they still finish, off the dead loop's thread")
    func workOutlivesItsLoop() async throws {
        let loop = try EventLoop(name: "test-ends")
        let counter = PinnedCounter(loop: loop)
        let started = Handoff<Bool>(), gate = Handoff<Bool>()
        let outcome = Mutex<(before: Bool, after: Bool)?>(nil)
        Task(executorPreference: loop) {
            started.put(loop.inLoop)
            _ = await gate.value
            let after = loop.inLoop
            outcome.withLock { $0 = (true, after) }
        }
        let before = await started.value
        // When
        try loop.shutdown()
        gate.put(true)
        let (count, onLoop) = await counter.increment()
        // Then (polled, so that a stranded task fails the test instead of hanging it)
        let deadline = ContinuousClock.now + .seconds(10)
        while outcome.withLock({ $0 }) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let finished = outcome.withLock { $0 }
        #expect(before && finished?.before == true && finished?.after == false,
                "began on the loop: \(before); finished: \(String(describing: finished))")
        #expect(count == 1 && !onLoop, "the pinned actor answered after shutdown, off the loop's thread")
    }

    @Test("given a one-shot timer, then it fires once after its delay and releases itself")
    func oneShotTimer() async throws {
        try await withLoop { loop in
            let fired = Recorder<UInt64>()
            let done = Handoff<Int>()
            let start = EventLoop.monotonicNanos()
            loop.execute {
                loop.scheduleTimer(afterMillis: 20) { _ in
                    fired.append(EventLoop.monotonicNanos() - start)
                    loop.scheduleTimer(afterMillis: 30) { _ in done.put(loop.openResourceCount) }
                }
            }
            let openAtEnd = await done.value
            #expect(fired.count == 1)
            #expect(fired.all[0] >= 19_000_000)
            #expect(openAtEnd == 1, "only the timer that reports is still open")
        }
    }

    @Test("given a repeating timer, when it is cancelled on its third tick, then it fires exactly three times")
    func repeatingTimer() async throws {
        try await withLoop { loop in
            let ticks = Recorder<Int>()
            let done = Handoff<Bool>()
            loop.execute {
                loop.scheduleTimer(afterMillis: 1, repeatMillis: 2) { timer in
                    ticks.append(1)
                    if ticks.count == 3 {
                        timer.cancel()
                        loop.scheduleTimer(afterMillis: 20) { _ in done.put(true) }
                    }
                }
            }
            _ = await done.value
            #expect(ticks.count == 3)
        }
    }

    @Test("given open handles, when the loop shuts down, then every handle is closed and the thread joined")
    func shutdownClosesEverything() async throws {
        let loop = try EventLoop(name: "shutdown-test")
        let closed = Handoff<TCPConnection.CloseReason>()
        let address = try await loop.submit { () throws -> SocketAddress in
            let listener = try TCPListener(on: loop, bind: loopback)
            listener.onAccept = { connection in connection.startReading() }
            _ = try UDPSocket(on: loop, bind: loopback)
            loop.scheduleTimer(afterMillis: 60_000, repeatMillis: 60_000) { _ in }
            return listener.localAddress
        }
        let client = try await TCPConnection.connect(on: loop, to: address)
        loop.execute { client.onClose = { closed.put($0) } }
        try loop.shutdown()
        if case .local = await closed.value {} else { Issue.record("expected a local close") }
        try loop.shutdown() // a second call is harmless
    }
}
