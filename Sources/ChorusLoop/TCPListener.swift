import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket; each accepted connection is handed to `onAccept` on the loop, not yet
/// reading, so the receiver can set its callbacks first.
public final class TCPListener: LoopHandle, @unchecked Sendable {
    /// Called with each accepted connection.
    public var onAccept: ((TCPConnection) -> Void)?
    /// Called when accepting fails; the listener stays open.
    public var onError: ((LoopError) -> Void)?
    /// Options given to accepted connections.
    public let connectionOptions: TCPConnection.Options
    /// The bound address (with the kernel's port when 0 was asked).
    public private(set) var localAddress: SocketAddress

    var uvTCP: UnsafeMutablePointer<uv_tcp_t> { raw.assumingMemoryBound(to: uv_tcp_t.self) }

    /// Binds and listens on `address` (must be called on the loop). A port in use throws
    /// `EADDRINUSE`.
    public init(on loop: EventLoop, bind address: SocketAddress, backlog: Int32 = 1024,
                connectionOptions: TCPConnection.Options = .init()) throws(LoopError) {
        self.connectionOptions = connectionOptions
        self.localAddress = address
        super.init(loop: loop, byteCount: MemoryLayout<uv_tcp_t>.size)
        let status = uv_tcp_init(loop.uvLoop, uvTCP)
        if status < 0 {
            abandon()
            throw LoopError(code: status, operation: "tcp init")
        }
        adopt()
        do {
            try LoopError.check(address.withSockAddr { uv_tcp_bind(uvTCP, $0, 0) }, "tcp bind \(address)")
            let stream = raw.assumingMemoryBound(to: uv_stream_t.self)
            try LoopError.check(uv_listen(stream, backlog) { server, status in
                let listener = LoopHandle.object(server, as: TCPListener.self)
                listener.incoming(status: status)
            }, "tcp listen \(address)")
        } catch {
            close()
            throw error
        }
        localAddress = SocketAddress.read { uv_tcp_getsockname(uvTCP, $0, $1) } ?? address
    }

    private func incoming(status: Int32) {
        if status < 0 {
            onError?(LoopError(code: status, operation: "tcp accept on \(localAddress)"))
            return
        }
        do {
            let connection = try TCPConnection.accept(from: raw.assumingMemoryBound(to: uv_stream_t.self),
                                                      loop: loop, options: connectionOptions)
            if let onAccept { onAccept(connection) } else { connection.close() }
        } catch {
            onError?(error)
        }
    }

    override func willClose() {
        onAccept = nil
        onError = nil
    }
}
