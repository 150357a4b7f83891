import CLibUV

/// The common life of a libuv handle owned by a loop: allocated and initialised on the loop's
/// thread, retained by the loop while open, freed in libuv's close callback.
///
/// Subclasses are loop-bound: every method must be called on `loop`'s thread (checked).
public class LoopHandle: LoopResource, @unchecked Sendable {
    // Safety of @unchecked Sendable: the handle's state is only touched on `loop`'s thread; the
    // reference may travel to other threads, which hand work to the loop with `loop.execute`.

    /// The loop that owns this handle.
    public let loop: EventLoop
    let raw: UnsafeMutableRawPointer
    /// Whether `close()` has been called. Kept behind a pointer: it is read on every frame.
    public var isClosed: Bool { closed.pointee }
    private let closed: UnsafeMutablePointer<Bool>

    /// Allocates the handle memory; the subclass initialises it with `uv_xxx_init` and then calls
    /// `adopt()`, or `abandon()` when the init failed.
    init(loop: EventLoop, byteCount: Int) {
        loop.preconditionInLoop()
        self.loop = loop
        closed = .allocate(capacity: 1)
        closed.initialize(to: false)
        raw = .allocate(byteCount: byteCount, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    var uvHandle: UnsafeMutablePointer<uv_handle_t> { raw.assumingMemoryBound(to: uv_handle_t.self) }

    /// Called after a successful `uv_xxx_init`: links the handle to this object and gives it to the loop.
    func adopt() {
        uvHandle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        loop.register(self)
    }

    /// Called when `uv_xxx_init` failed: the handle was never live, so it is freed at once.
    func abandon() {
        closed.pointee = true
        raw.deallocate()
    }

    static func object<T: LoopHandle>(_ handle: UnsafeMutableRawPointer?, as: T.Type = T.self) -> T {
        let uv = handle!.assumingMemoryBound(to: uv_handle_t.self)
        return Unmanaged<T>.fromOpaque(uv.pointee.data!).takeUnretainedValue()
    }

    /// Closes the handle; the object is released once libuv has finished with it. Idempotent.
    public func close() {
        loop.preconditionInLoop()
        guard !isClosed else { return }
        closed.pointee = true
        willClose()
        uv_close(uvHandle) { handle in
            let object = LoopHandle.object(handle, as: LoopHandle.self)
            object.didClose()
            object.raw.deallocate()
            object.loop.unregister(object)
        }
    }

    deinit {
        closed.deallocate()
    }

    /// Hook: the handle is about to close (stop reading, cancel timers).
    func willClose() {}
    /// Hook: libuv has closed the handle; no callback of it will run again.
    func didClose() {}
}
