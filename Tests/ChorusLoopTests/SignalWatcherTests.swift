import ChorusLoop
import ChorusTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Signal watchers", .timeLimit(.minutes(1)))
struct SignalWatcherTests {
    @Test("given a watcher of SIGUSR2, when the process gets it, then the callback runs on the loop, once per signal, until cancelled")
    func signalReachesTheLoop() async throws {
        try await withLoop { loop in
            let seen = Recorder<Bool>()
            let watcher = try await loop.submit {
                try SignalWatcher(on: loop, signal: SIGUSR2) { signal in
                    seen.append(signal == SIGUSR2 && loop.inLoop)
                }
            }
            kill(getpid(), SIGUSR2)
            #expect(await Self.waitForCount(seen, 1) == [true])
            kill(getpid(), SIGUSR2)
            #expect(await Self.waitForCount(seen, 2) == [true, true])
            // Cancelled, it is released: the loop's shutdown (in withLoop) finds no handle open.
            try await loop.submit { watcher.cancel() }
        }
    }

    /// What `recorder` holds once it has `count` items, or after 5 s.
    static func waitForCount(_ recorder: Recorder<Bool>, _ count: Int) async -> [Bool] {
        let deadline = ContinuousClock.now + .seconds(5)
        while recorder.count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return recorder.all
    }
}
