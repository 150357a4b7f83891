import ChorusLoop
import ChorusTestSupport
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

/// A length-prefixed frame carrying `payload`.
func lengthPrefixed(_ payload: [UInt8]) -> [UInt8] {
    var frame = [UInt8](repeating: 0, count: 4)
    frame.withUnsafeMutableBytes { LengthPrefixedFrames.writeHeader(length: payload.count, to: $0.baseAddress!) }
    return frame + payload
}

/// The payload of a length-prefixed frame.
func payload(of frame: UnsafeRawBufferPointer) -> [UInt8] { Array(frame[4...]) }

let loopback = try! SocketAddress("127.0.0.1:0")
