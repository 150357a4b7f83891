import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A bound UDP socket on a loop. Datagrams arrive through `onPacket` as a borrowed buffer, valid
/// only during the call; sends try the kernel at once and queue a copy only when it would block.
public final class UDPSocket: LoopHandle, @unchecked Sendable {
    /// Called for each datagram with its bytes (borrowed) and sender.
    public var onPacket: ((UnsafeRawBufferPointer, SocketAddress) -> Void)?
    /// Called when receiving fails; the socket stays open.
    public var onError: ((LoopError) -> Void)?

    /// The address the socket is bound to (with the kernel's port when 0 was asked).
    public private(set) var localAddress: SocketAddress
    private var receiveBuffer: UnsafeMutableRawPointer
    private static let receiveBufferSize = 65_536
    /// Datagrams sent but still queued in libuv.
    public private(set) var queuedSends = 0

    var uvUDP: UnsafeMutablePointer<uv_udp_t> { raw.assumingMemoryBound(to: uv_udp_t.self) }

    /// Binds a UDP socket to `address` (must be called on the loop).
    public init(on loop: EventLoop, bind address: SocketAddress) throws(LoopError) {
        localAddress = address
        receiveBuffer = .allocate(byteCount: Self.receiveBufferSize, alignment: 16)
        super.init(loop: loop, byteCount: MemoryLayout<uv_udp_t>.size)
        let status = uv_udp_init(loop.uvLoop, uvUDP)
        if status < 0 {
            abandon(); receiveBuffer.deallocate()
            throw LoopError(code: status, operation: "udp init")
        }
        adopt()
        let bound = address.withSockAddr { uv_udp_bind(uvUDP, $0, 0) }
        if bound < 0 {
            close()
            throw LoopError(code: bound, operation: "udp bind \(address)")
        }
        localAddress = SocketAddress.read { uv_udp_getsockname(uvUDP, $0, $1) } ?? address
    }

    /// Starts delivering datagrams to `onPacket`.
    public func startReceiving() throws(LoopError) {
        loop.preconditionInLoop()
        guard !isClosed else { throw .closed("udp receive") }
        let status = uv_udp_recv_start(uvUDP, { handle, _, buf in
            let socket = LoopHandle.object(handle, as: UDPSocket.self)
            buf!.pointee.base = socket.receiveBuffer.assumingMemoryBound(to: CChar.self)
            buf!.pointee.len = UDPSocket.receiveBufferSize
        }, { handle, nread, buf, addr, _ in
            let socket = LoopHandle.object(handle, as: UDPSocket.self)
            socket.received(nread: nread, addr: addr)
        })
        try LoopError.check(status, "udp receive on \(localAddress)")
    }

    private func received(nread: Int, addr: UnsafePointer<sockaddr>?) {
        if nread < 0 {
            onError?(LoopError(code: Int32(nread), operation: "udp receive on \(localAddress)"))
            return
        }
        guard let addr, let from = SocketAddress(addr) else { return }
        onPacket?(UnsafeRawBufferPointer(start: receiveBuffer, count: nread), from)
    }

    /// Sends one datagram. The bytes are copied only if the kernel cannot take them at once.
    public func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress) throws(LoopError) {
        loop.preconditionInLoop()
        guard !isClosed else { throw .closed("udp send to \(address)") }
        var buf = uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: CChar.self)),
                              UInt32(bytes.count))
        let sent = address.withSockAddr { uv_udp_try_send(uvUDP, &buf, 1, $0) }
        if sent >= 0 { return }
        if sent != UV_EAGAIN.rawValue && sent != -EAGAIN {
            throw LoopError(code: sent, operation: "udp send to \(address)")
        }
        // The kernel queue is full or libuv has sends queued: queue a copy.
        let request = UDPSendRequest(bytes: bytes)
        let status = address.withSockAddr { sa in
            uv_udp_send(request.request, uvUDP, &request.buffer, 1, sa) { req, _ in
                let request = Unmanaged<UDPSendRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
                let socket = LoopHandle.object(req!.pointee.handle, as: UDPSocket.self)
                socket.queuedSends -= 1
                _ = request
            }
        }
        if status < 0 {
            request.release()
            throw LoopError(code: status, operation: "udp send to \(address)")
        }
        queuedSends += 1
    }

    /// Sends one datagram from an array.
    public func send(_ bytes: [UInt8], to address: SocketAddress) throws(LoopError) {
        var failure: LoopError?
        bytes.withUnsafeBytes { buffer in
            do throws(LoopError) { try send(buffer, to: address) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    override func willClose() {
        uv_udp_recv_stop(uvUDP)
        onPacket = nil
        onError = nil
    }

    override func didClose() {
        receiveBuffer.deallocate()
    }
}

/// A datagram queued in libuv: owns a copy of the bytes until the send callback.
private final class UDPSendRequest {
    let request: UnsafeMutablePointer<uv_udp_send_t>
    var buffer: uv_buf_t
    private let storage: UnsafeMutableRawPointer

    init(bytes: UnsafeRawBufferPointer) {
        storage = .allocate(byteCount: max(bytes.count, 1), alignment: 1)
        if let base = bytes.baseAddress { storage.copyMemory(from: base, byteCount: bytes.count) }
        buffer = uv_buf_init(storage.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        request = .allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Drops the self-retain taken for libuv when libuv refused the request.
    func release() { Unmanaged.passUnretained(self).release() }

    deinit {
        request.deallocate()
        storage.deallocate()
    }
}
