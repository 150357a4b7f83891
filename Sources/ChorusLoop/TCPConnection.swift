import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection carrying frames, on one loop.
///
/// Writes: `send` appends a frame to an outbound batch; the batch leaves in one `uv_write` just
/// before the loop blocks, or at once when it passes `flushThreshold` and no write is in flight
/// (or when `flushNow` asks, for a frame someone waits for).
/// While a write is in flight the next batch fills, so a busy connection has one syscall per batch,
/// not per frame. Past `highWatermark` queued bytes `send` refuses (`.backpressured`) until the
/// queue drains below `lowWatermark`, when `onWritable` is called.
///
/// Reads: one inbound buffer per connection; every complete frame in it is handed to `onFrame` as
/// a borrowed slice (valid only during the call) in the same read callback; a partial frame waits
/// for the next read. `pauseReading()`/`resumeReading()` apply backpressure to the peer.
///
/// Raw mode (`Options.rawBytes`): no framing; `onFrame` gets whatever bytes each read brought, as
/// they came, and nothing is kept after the call. For protocols that parse the stream themselves
/// (the admin API's HTTP).
public final class TCPConnection: LoopHandle, @unchecked Sendable {
    /// Tuning of a connection's buffers.
    public struct Options: Sendable {
        /// How the inbound stream is cut into frames; ignored when `rawBytes` is set.
        public var framing: any FrameFormat
        /// Hands every read's bytes to `onFrame` as they arrive, without framing.
        public var rawBytes: Bool
        /// Queued outbound bytes at which `send` starts refusing.
        public var highWatermark: Int
        /// Queued outbound bytes under which a refusing connection accepts again.
        public var lowWatermark: Int
        /// Batch size that starts a write at once instead of waiting for the end of the iteration.
        public var flushThreshold: Int
        /// Initial inbound buffer; it grows to fit a larger frame.
        public var readBufferSize: Int

        public init(framing: any FrameFormat = LengthPrefixedFrames(), highWatermark: Int = 4 << 20,
                    lowWatermark: Int = 1 << 20, flushThreshold: Int = 64 << 10, readBufferSize: Int = 256 << 10) {
            precondition(lowWatermark <= highWatermark, "lowWatermark must not exceed highWatermark")
            self.framing = framing
            self.rawBytes = false
            self.highWatermark = highWatermark
            self.lowWatermark = lowWatermark
            self.flushThreshold = flushThreshold
            self.readBufferSize = readBufferSize
        }

        /// Options for a connection without framing: each read's bytes go to `onFrame` as they came.
        public static func rawBytes(highWatermark: Int = 4 << 20, lowWatermark: Int = 1 << 20,
                                    flushThreshold: Int = 64 << 10, readBufferSize: Int = 64 << 10) -> Options {
            var options = Options(highWatermark: highWatermark, lowWatermark: lowWatermark,
                                  flushThreshold: flushThreshold, readBufferSize: readBufferSize)
            options.rawBytes = true
            return options
        }
    }

    /// What a `send` did with a frame.
    public enum SendResult: Sendable, Equatable {
        /// Queued; it will be written.
        case queued
        /// Refused: the outbound queue is past the high watermark. Wait for `onWritable`.
        case backpressured
        /// Refused: the connection is closed.
        case closed
    }

    /// Why a connection closed.
    public enum CloseReason: Sendable, CustomStringConvertible {
        /// `close()` was called here.
        case local
        /// The peer closed its end.
        case endOfStream
        /// A libuv error on read or write (`ECONNRESET`, ...).
        case error(LoopError)
        /// The peer sent bytes the framing rejected.
        case badFrame(any Error)

        public var description: String {
            switch self {
            case .local: "closed locally"
            case .endOfStream: "closed by peer"
            case .error(let error): "\(error)"
            case .badFrame(let error): "bad frame: \(error)"
            }
        }
    }

    public let options: Options
    /// Called with each complete frame (header included), borrowed for the duration of the call;
    /// in raw mode, with the bytes of each read.
    /// (Not optional: an optional closure called per frame costs a thunk or a retain.)
    public var onFrame: (UnsafeRawBufferPointer) -> Void = { _ in }
    /// Called once per socket read, before the frames it completed are handed to `onFrame`
    /// (a place to take one timestamp or open one batch for all of them).
    public var onRead: (() -> Void)?
    /// Called once when the queue has drained below the low watermark after a refusal.
    public var onWritable: (() -> Void)?
    /// Called once when the connection has closed, with the reason.
    public var onClose: ((CloseReason) -> Void)?

    /// The peer's address, when known.
    public private(set) var remoteAddress: SocketAddress?

    /// The hot state of the connection, behind a stable pointer: the per-frame paths touch it
    /// without Swift's dynamic exclusivity checks on class properties (a third of the send path's
    /// cost when measured). Only the loop thread touches it.
    @usableFromInline let io: UnsafeMutablePointer<ConnectionIO>
    private var closeReason: CloseReason = .local
    private let writeRequest: UnsafeMutablePointer<uv_write_t>
    private var connectRequest: UnsafeMutablePointer<uv_connect_t>?
    private var connectCompletion: ((Result<TCPConnection, LoopError>) -> Void)?

    /// Frames received so far (in raw mode: reads that brought bytes).
    public var framesReceived: Int { io.pointee.framesReceived }
    /// Bytes the kernel has taken so far.
    public var bytesWritten: Int { io.pointee.bytesWritten }
    /// `uv_write` calls so far: far fewer than frames when batching works.
    public var writeCalls: Int { io.pointee.writeCalls }

    var uvTCP: UnsafeMutablePointer<uv_tcp_t> { raw.assumingMemoryBound(to: uv_tcp_t.self) }
    var uvStream: UnsafeMutablePointer<uv_stream_t> { raw.assumingMemoryBound(to: uv_stream_t.self) }

    init(loop: EventLoop, options: Options) throws(LoopError) {
        self.options = options
        io = .allocate(capacity: 1)
        io.initialize(to: ConnectionIO(
            pending: ByteArena(capacity: options.flushThreshold),
            inFlight: ByteArena(capacity: options.flushThreshold),
            inbound: ByteArena(capacity: options.readBufferSize),
            highWatermark: options.highWatermark,
            flushThreshold: options.flushThreshold))
        writeRequest = .allocate(capacity: 1)
        super.init(loop: loop, byteCount: MemoryLayout<uv_tcp_t>.size)
        let status = uv_tcp_init(loop.uvLoop, uvTCP)
        if status < 0 {
            abandon()
            freeBuffers()
            throw LoopError(code: status, operation: "tcp init")
        }
        adopt()
    }

    /// Connects to `address`; `completion` runs on the loop with the connection or the error
    /// (`ECONNREFUSED` when nothing listens). Must be called on the loop.
    public static func connect(on loop: EventLoop, to address: SocketAddress, options: Options = Options(),
                               completion: @escaping (Result<TCPConnection, LoopError>) -> Void) {
        let connection: TCPConnection
        do {
            connection = try TCPConnection(loop: loop, options: options)
        } catch {
            completion(.failure(error))
            return
        }
        connection.remoteAddress = address
        connection.connectCompletion = completion
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        connection.connectRequest = request
        let status = address.withSockAddr { sa in
            uv_tcp_connect(request, connection.uvTCP, sa) { request, status in
                let connection = LoopHandle.object(request!.pointee.handle, as: TCPConnection.self)
                connection.connected(status: status)
            }
        }
        if status < 0 {
            request.deallocate()
            connection.connectRequest = nil
            connection.connectCompletion = nil
            connection.close()
            completion(.failure(LoopError(code: status, operation: "tcp connect \(address)")))
        }
    }

    /// Connects and waits, from any task.
    public static func connect(on loop: EventLoop, to address: SocketAddress,
                               options: Options = Options()) async throws -> TCPConnection {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute {
                connect(on: loop, to: address, options: options) { result in
                    continuation.resume(with: result)
                }
            }
        }
    }

    private func connected(status: Int32) {
        connectRequest?.deallocate()
        connectRequest = nil
        let completion = connectCompletion
        connectCompletion = nil
        if status < 0 {
            let error = LoopError(code: status, operation: "tcp connect \(remoteAddress.map { "\($0)" } ?? "?")")
            close()
            completion?(.failure(error))
            return
        }
        _ = uv_tcp_nodelay(uvTCP, 1)
        completion?(.success(self))
    }

    /// Wraps a connection accepted by a listener.
    static func accept(from server: UnsafeMutablePointer<uv_stream_t>, loop: EventLoop,
                       options: Options) throws(LoopError) -> TCPConnection {
        let connection = try TCPConnection(loop: loop, options: options)
        let status = uv_accept(server, connection.uvStream)
        if status < 0 {
            connection.close()
            throw LoopError(code: status, operation: "tcp accept")
        }
        _ = uv_tcp_nodelay(connection.uvTCP, 1)
        connection.remoteAddress = SocketAddress.read { uv_tcp_getpeername(connection.uvTCP, $0, $1) }
        return connection
    }

    // MARK: Writing

    /// Bytes queued and not yet written by the kernel.
    public var queuedBytes: Int { io.pointee.pending.count + io.pointee.inFlight.count }

    /// Whether `send` would accept a frame now.
    public var isWritable: Bool { !isClosed && !io.pointee.draining && !io.pointee.refusing }

    /// Queues a whole frame (header included, already encoded). Copies it into the outbound batch.
    @discardableResult
    public func send(_ frame: UnsafeRawBufferPointer) -> SendResult {
        let result = reserveForSend(frame.count)
        if result == .queued { io.pointee.pending.append(frame) ; afterAppend() }
        return result
    }

    /// Queues a whole frame from an array.
    @discardableResult
    public func send(_ frame: [UInt8]) -> SendResult {
        frame.withUnsafeBytes { send($0) }
    }

    /// Queues a frame of `size` bytes that `fill` writes in place into the outbound batch, without an
    /// intermediate buffer. `fill` must write all `size` bytes.
    @discardableResult
    @inlinable
    public func send(size: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) -> SendResult {
        // The thread check costs a tenth of this path, so the inlined fast path checks in debug
        // builds only (as swift-nio's hot paths do); the slow path checks always.
        assert(loop.inLoop, "TCPConnection.send called off its event loop's thread")
        // Fast path, inlined into the caller: the frame fits the current batch, which is already
        // due to be written (a write is in flight, or a flush is scheduled below the threshold).
        let io = self.io
        let end = io.pointee.pending.count + size
        if io.pointee.accepting, end <= io.pointee.pending.capacity,
           end + io.pointee.inFlight.count <= io.pointee.highWatermark,
           io.pointee.writing || (io.pointee.flushScheduled && end < io.pointee.flushThreshold) {
            fill(UnsafeMutableRawBufferPointer(start: io.pointee.pending.base + io.pointee.pending.count, count: size))
            io.pointee.pending.count = end
            return .queued
        }
        return sendSlowly(size: size, fill: fill)
    }

    @usableFromInline
    func sendSlowly(size: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) -> SendResult {
        let result = reserveForSend(size)
        if result == .queued {
            io.pointee.pending.reserve(size)
            fill(UnsafeMutableRawBufferPointer(start: io.pointee.pending.writePointer, count: size))
            io.pointee.pending.count += size
            afterAppend()
        }
        return result
    }

    private func reserveForSend(_ size: Int) -> SendResult {
        loop.preconditionInLoop()
        if isClosed || io.pointee.draining { return .closed }
        if io.pointee.refusing { return .backpressured }
        if queuedBytes + size > options.highWatermark && queuedBytes > 0 {
            io.pointee.refusing = true
            io.pointee.accepting = false
            return .backpressured
        }
        return .queued
    }

    @inline(__always)
    private func afterAppend() {
        if !io.pointee.writing && io.pointee.pending.count >= options.flushThreshold {
            startWrite()
        } else if !io.pointee.flushScheduled && !io.pointee.writing {
            io.pointee.flushScheduled = true
            loop.scheduleFlush(self)
        }
    }

    private func startWrite() {
        guard !io.pointee.writing, !io.pointee.pending.isEmpty, !isClosed else { return }
        let filled = io.pointee.pending
        io.pointee.pending = io.pointee.inFlight
        io.pointee.inFlight = filled
        io.pointee.writing = true
        io.pointee.writeCalls += 1
        var buffer = uv_buf_init(io.pointee.inFlight.base.assumingMemoryBound(to: CChar.self), UInt32(io.pointee.inFlight.count))
        let status = uv_write(writeRequest, uvStream, &buffer, 1) { request, status in
            let connection = LoopHandle.object(request!.pointee.handle, as: TCPConnection.self)
            connection.wrote(status: status)
        }
        if status < 0 {
            io.pointee.writing = false
            fail(.error(LoopError(code: status, operation: "tcp write")))
        }
    }

    private func wrote(status: Int32) {
        io.pointee.writing = false
        if isClosed { return }
        if status < 0 {
            fail(.error(LoopError(code: status, operation: "tcp write")))
            return
        }
        io.pointee.bytesWritten += io.pointee.inFlight.count
        io.pointee.inFlight.count = 0
        if !io.pointee.pending.isEmpty { startWrite() } else { shutdownIfDrained() }
        if io.pointee.refusing && queuedBytes <= options.lowWatermark {
            io.pointee.refusing = false
            io.pointee.accepting = !io.pointee.draining
            onWritable?()
        }
    }

    // MARK: Reading

    /// Starts delivering frames to `onFrame`.
    public func startReading() {
        loop.preconditionInLoop()
        guard !isClosed, !io.pointee.reading else { return }
        io.pointee.reading = true
        if !io.pointee.readingPaused { startUVRead() }
    }

    /// Stops io.pointee.reading from the socket (the peer's writes back up); frames already buffered stay.
    public func pauseReading() {
        loop.preconditionInLoop()
        guard !io.pointee.readingPaused else { return }
        io.pointee.readingPaused = true
        if io.pointee.reading && !isClosed { uv_read_stop(uvStream) }
    }

    /// Resumes io.pointee.reading after `pauseReading()`.
    public func resumeReading() {
        loop.preconditionInLoop()
        guard io.pointee.readingPaused else { return }
        io.pointee.readingPaused = false
        if io.pointee.reading && !isClosed {
            startUVRead()
            deliverFrames()
        }
    }

    private func startUVRead() {
        let status = uv_read_start(uvStream, { handle, _, buf in
            let connection = LoopHandle.object(handle, as: TCPConnection.self)
            connection.provideReadBuffer(buf!)
        }, { stream, nread, _ in
            let connection = LoopHandle.object(stream, as: TCPConnection.self)
            connection.didRead(nread)
        })
        if status < 0 { fail(.error(LoopError(code: status, operation: "tcp read start"))) }
    }

    private func provideReadBuffer(_ buf: UnsafeMutablePointer<uv_buf_t>) {
        if io.pointee.inbound.freeCount < 4096 { io.pointee.inbound.reserve(max(4096, io.pointee.inbound.capacity)) }
        buf.pointee.base = io.pointee.inbound.writePointer.assumingMemoryBound(to: CChar.self)
        buf.pointee.len = io.pointee.inbound.freeCount
    }

    private func didRead(_ nread: Int) {
        if nread < 0 {
            if Int32(nread) == UV_EOF.rawValue {
                // The peer has ended its side; it may still read (a half-close). What is queued for
                // it goes out first, then the connection closes.
                guard queuedBytes > 0 || io.pointee.writing else {
                    fail(.endOfStream)
                    return
                }
                closeReason = .endOfStream
                pauseReading()
                closeAfterFlush()
            } else {
                fail(.error(LoopError(code: Int32(nread), operation: "tcp read")))
            }
            return
        }
        io.pointee.inbound.count += nread
        onRead?()
        deliverFrames()
    }

    /// Hands every complete frame in the io.pointee.inbound buffer to `onFrame`, then keeps the partial rest.
    private func deliverFrames() {
        if options.rawBytes {
            deliverRawBytes()
            return
        }
        let framing = options.framing
        let headerSize = framing.headerSize
        let deliver = onFrame
        var offset = 0
        while !isClosed && !io.pointee.readingPaused {
            let available = io.pointee.inbound.count - offset
            guard available >= headerSize else { break }
            let start = io.pointee.inbound.base + offset
            let length: Int
            do {
                length = try framing.frameLength(header: UnsafeRawBufferPointer(start: start, count: headerSize))
            } catch {
                fail(.badFrame(error))
                return
            }
            guard length >= headerSize else {
                fail(.badFrame(FrameTooShort(length: length, headerSize: headerSize)))
                return
            }
            if available < length {
                // Make room for the rest of this frame so the next read can complete it.
                if io.pointee.inbound.capacity - offset < length {
                    io.pointee.inbound.discardFront(offset)
                    offset = 0
                    io.pointee.inbound.reserve(length - io.pointee.inbound.count)
                }
                break
            }
            io.pointee.framesReceived += 1
            deliver(UnsafeRawBufferPointer(start: start, count: length))
            offset += length
        }
        if !isClosed { io.pointee.inbound.discardFront(offset) }
    }

    /// Raw mode: hands everything read so far to `onFrame` at once; the receiver keeps what it needs.
    private func deliverRawBytes() {
        let count = io.pointee.inbound.count
        guard count > 0, !isClosed, !io.pointee.readingPaused else { return }
        io.pointee.framesReceived += 1
        onFrame(UnsafeRawBufferPointer(start: io.pointee.inbound.base, count: count))
        if !isClosed { io.pointee.inbound.discardFront(count) }
    }

    // MARK: Closing

    /// Ends the connection once every frame already queued has been written: no frame is accepted
    /// after this call, the queue drains, then a `uv_shutdown` sends the end of stream and the
    /// connection closes.
    public func closeAfterFlush() {
        loop.preconditionInLoop()
        drainThenShutDown(closing: true)
    }

    /// Ends the sending side once every frame already queued has been written, and keeps reading:
    /// the peer sees the end of stream, and what it still sends is read (not answered with a reset,
    /// which could destroy the data it has not read yet). The connection closes when the peer ends
    /// its side, on an error, or when `close()` is called. A "lingering close", as HTTP servers do
    /// after a last answer.
    public func shutdownAfterFlush() {
        loop.preconditionInLoop()
        drainThenShutDown(closing: false)
    }

    private func drainThenShutDown(closing: Bool) {
        guard !isClosed else { return }
        if closing { io.pointee.closeOnShutdown = true }
        guard !io.pointee.draining else {
            // Already draining; if the shutdown is done and now a close is asked, close.
            if closing && io.pointee.shutdownDone { close() }
            return
        }
        io.pointee.draining = true
        io.pointee.accepting = false
        if !io.pointee.writing { startWrite() }
        shutdownIfDrained()
    }

    /// Once io.pointee.draining and nothing is left to write, shuts the write side down (and closes,
    /// unless the connection lingers).
    private func shutdownIfDrained() {
        guard io.pointee.draining, !io.pointee.writing, io.pointee.pending.isEmpty, !isClosed, !io.pointee.shutdownStarted else { return }
        io.pointee.shutdownStarted = true
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        let status = uv_shutdown(request, uvStream) { request, status in
            let connection = LoopHandle.object(request!.pointee.handle, as: TCPConnection.self)
            request!.deallocate()
            connection.io.pointee.shutdownDone = true
            if connection.io.pointee.closeOnShutdown {
                connection.close()
            } else if status < 0 {
                connection.fail(.error(LoopError(code: status, operation: "tcp shutdown")))
            }
        }
        if status < 0 {
            request.deallocate()
            close()
        }
    }

    private func fail(_ reason: CloseReason) {
        guard !isClosed else { return }
        closeReason = reason
        close()
    }

    override func willClose() {
        io.pointee.accepting = false
        if io.pointee.reading && !io.pointee.readingPaused { uv_read_stop(uvStream) }
        onFrame = { _ in }
        onRead = nil
        onWritable = nil
    }

    override func didClose() {
        let handler = onClose
        onClose = nil
        freeBuffers()
        if let connectRequest {
            // The connect callback ran with ECANCELED before the close callback.
            connectRequest.deallocate()
            self.connectRequest = nil
        }
        if let completion = connectCompletion {
            connectCompletion = nil
            completion(.failure(LoopError(code: UV_ECANCELED.rawValue, operation: "tcp connect")))
        }
        handler?(closeReason)
    }

    private func freeBuffers() {
        io.pointee.pending.free()
        io.pointee.inFlight.free()
        io.pointee.inbound.free()
    }

    deinit {
        io.deinitialize(count: 1)
        io.deallocate()
        writeRequest.deallocate()
    }
}

extension TCPConnection {
    /// Writes what is queued now, instead of just before the loop blocks, unless a write is in
    /// flight (then it leaves with the next batch, as soon as that write completes). For a frame
    /// someone waits for; frames that follow it before the write completes still gather.
    public func flushNow() {
        loop.preconditionInLoop()
        if !io.pointee.writing { startWrite() }
    }
}

extension TCPConnection: BeforeBlockFlushing {
    func flushBeforeBlock() {
        io.pointee.flushScheduled = false
        if !io.pointee.writing { startWrite() }
    }
}

/// The per-frame state of a connection (see `TCPConnection.io`).
@usableFromInline
struct ConnectionIO {
    @usableFromInline var pending: ByteArena
    @usableFromInline var inFlight: ByteArena
    var inbound: ByteArena
    @usableFromInline let highWatermark: Int
    @usableFromInline let flushThreshold: Int
    /// Open, not draining, not refusing: a frame may be queued.
    @usableFromInline var accepting = true
    @usableFromInline var writing = false
    @usableFromInline var flushScheduled = false
    var refusing = false
    var reading = false
    var readingPaused = false
    var draining = false
    var shutdownStarted = false
    var shutdownDone = false
    /// Close once the write side is shut down (`closeAfterFlush`), rather than linger.
    var closeOnShutdown = false
    var framesReceived = 0
    var bytesWritten = 0
    var writeCalls = 0
}
