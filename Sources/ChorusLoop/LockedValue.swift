#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a pthread mutex, for state shared between a loop and other threads.
///
/// A pthread mutex rather than `Synchronization.Mutex`: ThreadSanitizer intercepts pthread locks,
/// while `Mutex` on Linux is built from futex calls it cannot see, which makes every access look
/// like a race and hides real ones.
public final class LockedValue<Value>: @unchecked Sendable {
    // Safety of @unchecked Sendable: `value` is only touched between lock and unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// A value handed over once, from a loop callback (or any thread) to an async waiter.
/// The first `put` wins; later ones are ignored.
public final class Handoff<T: Sendable>: Sendable {
    private struct State {
        var value: T?
        var waiters: [CheckedContinuation<T, Never>] = []
    }
    private let state = LockedValue(State())

    public init() {}

    /// Hands the value over and wakes whoever waits for it.
    public func put(_ value: T) {
        let waiters = state.withLock { s -> [CheckedContinuation<T, Never>] in
            guard s.value == nil else { return [] }
            s.value = value
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, once it has been put.
    public var value: T {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> T? in
                    if let value = s.value { return value }
                    s.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
