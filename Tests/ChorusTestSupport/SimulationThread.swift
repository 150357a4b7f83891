import Foundation
import Testing

/// One dedicated thread for CPU-bound simulation specs, outside Swift's cooperative pool.
///
/// A simulation spec is synchronous and runs for up to a minute or two. Run on the cooperative
/// pool (as wide as the machine has cores: two here), two of them at once leave no thread for any
/// other test, and the specs that talk to real processes time out while they wait. On this
/// executor the specs run one after another, and every other test keeps the pool.
public final class SimulationThread: TaskExecutor, @unchecked Sendable {
    // Safety: `jobs` is guarded by `condition`.
    /// The thread every `.onSimulationThread` test runs on.
    public static let shared = SimulationThread(name: "chorus-simulations")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(name: String) {
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = name
        thread.stackSize = 16 << 20
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs each test of a suite (or one test) on `SimulationThread.shared`.
public struct OnSimulationThread: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(SimulationThread.shared) { try await function() }
    }
}

extension Trait where Self == OnSimulationThread {
    /// Runs the tests on the simulation thread, one at a time, off the cooperative pool.
    public static var onSimulationThread: Self { OnSimulationThread() }
}
