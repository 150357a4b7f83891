import ChorusLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT, watched on a small loop of their own. The first one asks the agent to
/// leave and stop (`first()` returns); a second one, while it is still leaving, ends the process
/// at once with status 1.
final class ShutdownSignals: Sendable {
    private let loop: EventLoop
    private let received: AsyncStream<Int32>
    private let watchers: [SignalWatcher]
    private let logger: Logger

    private init(loop: EventLoop, received: AsyncStream<Int32>, watchers: [SignalWatcher], logger: Logger) {
        self.loop = loop
        self.received = received
        self.watchers = watchers
        self.logger = logger
    }

    /// Starts watching; from now on SIGTERM and SIGINT no longer end the process by themselves.
    static func watch(logger: Logger) async throws -> ShutdownSignals {
        let loop = try EventLoop(name: "chorus-signals")
        let (received, continuation) = AsyncStream<Int32>.makeStream()
        do {
            let watchers = try await loop.submit {
                var count = 0
                return try [SIGTERM, SIGINT].map { signal throws(LoopError) in
                    try SignalWatcher(on: loop, signal: signal) { signal in
                        count += 1
                        if count > 1 {
                            logger.warning("\(Self.name(signal)) again while leaving: exiting now")
                            _exit(1)
                        }
                        continuation.yield(signal)
                    }
                }
            }
            return ShutdownSignals(loop: loop, received: received, watchers: watchers, logger: logger)
        } catch {
            try? loop.shutdown()
            throw error
        }
    }

    /// Waits for the first SIGTERM or SIGINT.
    func first() async {
        for await signal in received {
            logger.info("\(Self.name(signal)): leaving the cluster and stopping")
            return
        }
    }

    /// Stops watching and ends the loop's thread.
    func close() async {
        let watchers = self.watchers
        _ = try? await loop.submit { for watcher in watchers { watcher.cancel() } }
        try? loop.shutdown()
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(signal)"
        }
    }
}
