import Chorus
import ChorusLoop
import ChorusWire
import Foundation

/// One side of `scripts/bench transport`: streams ChorusWire frames over loopback TCP through
/// ChorusLoop. The plain-C peer in `Benchmarks/transport-c` has the same command line and output.
///
///     chorus-transport-bench receive --listen 127.0.0.1:PORT --frames N
///     chorus-transport-bench send --connect 127.0.0.1:PORT --frames N [--size 200] [--rate R]
///
/// Each frame is a `transportProbe` frame whose payload starts with the sender's monotonic clock
/// (little-endian nanoseconds); the receiver prints one JSON line with frames/s, MB/s and the
/// p50/p99 one-way latency.
@main
struct TransportBench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            guard let mode = arguments.first else { throw BenchError.usage }
            let options = try Options(Array(arguments.dropFirst()))
            switch mode {
            case "receive": try await receive(options)
            case "send": try await send(options)
            default: throw BenchError.usage
            }
        } catch {
            FileHandle.standardError.write(Data("chorus-transport-bench: \(error)\n".utf8))
            exit(2)
        }
    }

    // MARK: Receiver

    static func receive(_ options: Options) async throws {
        guard let listen = options.listen else { throw BenchError.usage }
        let loop = try EventLoop(name: "bench-recv")
        let report = Handoff<Result<String, BenchError>>()
        let expected = options.frames
        try await loop.submit {
            let listener = try TCPListener(on: loop, bind: listen,
                                           connectionOptions: .init(framing: WireFraming()))
            listener.onAccept = { connection in
                listener.close() // one sender per run
                let stats = ReceiveStats(expected: expected)
                // One clock read per socket read, as the C peer does.
                connection.onRead = { stats.counters.pointee.now = EventLoop.monotonicNanos() }
                connection.onFrame = { frame in
                    let sent = frame.loadUnaligned(fromByteOffset: FrameHeader.size, as: UInt64.self).littleEndian
                    if stats.record(bytes: frame.count, sentNanos: sent) {
                        report.put(.success(stats.json()))
                        connection.close()
                    }
                }
                connection.onClose = { reason in
                    if stats.frames < expected {
                        report.put(.failure(.failed("connection closed after \(stats.frames) of \(expected) frames: \(reason)")))
                    }
                }
                connection.startReading()
            }
        }
        let result = await report.value
        try loop.shutdown()
        switch result {
        case .success(let line): print(line)
        case .failure(let error): throw error
        }
    }

    // MARK: Sender

    static func send(_ options: Options) async throws {
        guard let target = options.connect else { throw BenchError.usage }
        guard options.size >= FrameHeader.size + 8 else { throw BenchError.failed("--size must be at least 16") }
        let loop = try EventLoop(name: "bench-send")
        let connection = try await connectWithRetry(loop, target)
        let done = Handoff<Result<Void, BenchError>>()
        let sender = Sender(connection: connection, frames: options.frames, frameSize: options.size)
        loop.execute {
            connection.onClose = { reason in
                if case .local = reason { done.put(.success(())) } else if case .endOfStream = reason { done.put(.success(())) }
                else { done.put(.failure(.failed("\(reason)"))) }
            }
            if let rate = options.rate {
                sender.paced(on: loop, framesPerSecond: rate)
            } else {
                connection.onWritable = { sender.burst() }
                sender.burst()
            }
        }
        let result = await done.value
        try loop.shutdown()
        if case .failure(let error) = result { throw error }
    }

    static func connectWithRetry(_ loop: EventLoop, _ target: SocketAddress) async throws -> TCPConnection {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try await TCPConnection.connect(on: loop, to: target,
                                                       options: .init(framing: WireFraming()))
            } catch let error as LoopError where error.name == "ECONNREFUSED" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

/// Writes frames into a connection: as fast as backpressure allows, or at a fixed rate.
final class Sender: @unchecked Sendable {
    // Safety: used on the sending loop's thread only.
    let connection: TCPConnection
    let total: Int
    let frameSize: Int
    var sent = 0
    /// Frames per 64 KiB batch: one clock read each in `burst()`.
    let stampEvery: Int
    var stamp: UInt64 = 0
    var untilStamp = 0

    init(connection: TCPConnection, frames: Int, frameSize: Int) {
        self.connection = connection
        self.total = frames
        self.frameSize = frameSize
        self.stampEvery = max(1, (64 << 10) / frameSize)
    }

    /// Sends until done or refused; `onWritable` calls it again. The clock is read once per
    /// `stampEvery` frames (one 64 KiB batch), as the C peer does.
    func burst() {
        while sent < total {
            if untilStamp == 0 { stamp = EventLoop.monotonicNanos(); untilStamp = stampEvery }
            guard writeOne() else { return }
            untilStamp -= 1
        }
        connection.closeAfterFlush()
    }

    /// Sends the frames due every millisecond.
    func paced(on loop: EventLoop, framesPerSecond: Int) {
        let start = loop.nowMillis
        loop.scheduleTimer(afterMillis: 1, repeatMillis: 1) { [self] timer in
            stamp = EventLoop.monotonicNanos() // the frames due now are sent now
            let due = min(total, Int((loop.nowMillis - start + 1) * UInt64(framesPerSecond) / 1000))
            while sent < due {
                guard writeOne() else { break }
            }
            if sent == total {
                timer.cancel()
                connection.closeAfterFlush()
            }
        }
    }

    @inline(__always)
    private func writeOne() -> Bool {
        let size = frameSize
        let stamp = self.stamp
        let result = connection.send(size: size) { frame in
            FrameHeader(type: .transportProbe, payloadLength: size - FrameHeader.size).write(to: frame.baseAddress!)
            frame.storeBytes(of: stamp.littleEndian, toByteOffset: FrameHeader.size, as: UInt64.self)
        }
        if result == .queued { sent += 1; return true }
        return false
    }
}

/// Counts frames and keeps every latency, for exact percentiles. The counters live behind a
/// pointer so the per-frame path pays no exclusivity bookkeeping (the C peer uses globals).
final class ReceiveStats: @unchecked Sendable {
    // Safety: used on the receiving loop's thread only.
    struct Counters {
        var frames = 0
        var bytes = 0
        var now: UInt64 = 0
        var first: UInt64 = 0
        var last: UInt64 = 0
        var latencies: UnsafeMutablePointer<UInt64>
    }
    let counters: UnsafeMutablePointer<Counters>
    let expected: Int

    init(expected: Int) {
        self.expected = expected
        counters = .allocate(capacity: 1)
        let latencies = UnsafeMutablePointer<UInt64>.allocate(capacity: expected)
        latencies.initialize(repeating: 0, count: expected) // touch the pages before timing starts
        counters.initialize(to: Counters(latencies: latencies))
    }

    deinit {
        counters.pointee.latencies.deallocate()
        counters.deallocate()
    }

    var frames: Int { counters.pointee.frames }

    /// Records one frame; returns true when the expected count is reached.
    @inline(__always)
    func record(bytes size: Int, sentNanos: UInt64) -> Bool {
        let c = counters
        let now = c.pointee.now
        if c.pointee.frames == 0 { c.pointee.first = now }
        c.pointee.last = now
        c.pointee.latencies[c.pointee.frames] = now &- sentNanos
        c.pointee.frames += 1
        c.pointee.bytes += size
        return c.pointee.frames == expected
    }

    func json() -> String {
        let c = counters.pointee
        let seconds = max(Double(c.last &- c.first) / 1e9, 1e-9)
        var latencies = UnsafeMutableBufferPointer(start: c.latencies, count: c.frames)
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        let fps = Double(c.frames) / seconds
        let mbps = Double(c.bytes) / seconds / 1e6
        return String(format: "{\"impl\":\"swift\",\"frames\":%ld,\"bytes\":%ld,\"seconds\":%.6f,\"frames_per_s\":%.0f,\"mb_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}",
                      c.frames, c.bytes, seconds, fps, mbps, percentile(0.50), percentile(0.99))
    }
}

struct Options {
    var listen: SocketAddress?
    var connect: SocketAddress?
    var frames = 1_000_000
    var size = 200
    var rate: Int?

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw BenchError.failed("\(flag) needs a value") }
            switch flag {
            case "--listen": listen = try SocketAddress(value)
            case "--connect": connect = try SocketAddress(value)
            case "--frames": frames = try Self.positive(value, flag)
            case "--size": size = try Self.positive(value, flag)
            case "--rate": rate = try Self.positive(value, flag)
            default: throw BenchError.failed("unknown option \(flag)")
            }
        }
    }

    static func positive(_ text: String, _ flag: String) throws -> Int {
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")), value > 0 else {
            throw BenchError.failed("\(flag) must be a positive number")
        }
        return value
    }
}

enum BenchError: Error, CustomStringConvertible {
    case usage
    case failed(String)

    var description: String {
        switch self {
        case .usage: "usage: chorus-transport-bench receive --listen HOST:PORT --frames N | send --connect HOST:PORT --frames N [--size 200] [--rate R]"
        case .failed(let message): message
        }
    }
}
