import ChorusLoop
import Synchronization
import Testing

/// Runs `body` with a fresh loop and checks, at the end, that shutting it down leaves no handle open.
func withLoop<T>(_ name: String = "test-loop", _ body: (EventLoop) async throws -> T) async throws -> T {
    let loop = try EventLoop(name: name)
    do {
        let result = try await body(loop)
        try loop.shutdown()
        return result
    } catch {
        try? loop.shutdown()
        throw error
    }
}

/// A one-shot value handed from a loop callback to the test task.
final class Handoff<T: Sendable>: Sendable {
    private let state = Mutex<(value: T?, waiter: CheckedContinuation<T, Never>?)>((nil, nil))

    func put(_ value: T) {
        let waiter = state.withLock { s -> CheckedContinuation<T, Never>? in
            guard s.value == nil else { return nil }
            s.value = value
            let w = s.waiter
            s.waiter = nil
            return w
        }
        waiter?.resume(returning: value)
    }

    var value: T {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> T? in
                    if let v = s.value { return v }
                    s.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

/// A thread-safe list that loop callbacks append to and tests read.
final class Recorder<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }
}

/// A length-prefixed frame carrying `payload`.
func lengthPrefixed(_ payload: [UInt8]) -> [UInt8] {
    var frame = [UInt8](repeating: 0, count: 4)
    frame.withUnsafeMutableBytes { LengthPrefixedFrames.writeHeader(length: payload.count, to: $0.baseAddress!) }
    return frame + payload
}

/// The payload of a length-prefixed frame.
func payload(of frame: UnsafeRawBufferPointer) -> [UInt8] { Array(frame[4...]) }

let loopback = try! SocketAddress("127.0.0.1:0")
