import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// An error reported by libuv, carrying libuv's own name for it (`ECONNREFUSED`, `EADDRINUSE`, ...)
/// and the operation that failed, so a log line says what went wrong without a lookup table.
public struct LoopError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The negative libuv error code (`UV_ECONNREFUSED`, ...).
    public let code: Int32
    /// libuv's name of the error, e.g. `"ECONNREFUSED"`.
    public let name: String
    /// libuv's human message, e.g. `"connection refused"`.
    public let message: String
    /// What Chorus was doing, e.g. `"tcp connect 127.0.0.1:7301"`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.name = String(cString: uv_err_name(code))
        self.message = String(cString: uv_strerror(code))
        self.operation = operation
    }

    /// An error that does not come from libuv (a closed handle, a refused argument).
    public init(name: String, message: String, operation: String) {
        self.code = 0
        self.name = name
        self.message = message
        self.operation = operation
    }

    public var description: String { "\(operation): \(name) (\(message))" }

    /// Throws a `LoopError` when a libuv call returned a negative status.
    @inlinable
    static func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(LoopError) {
        if status < 0 { throw LoopError(code: status, operation: operation()) }
    }

    /// The handle was already closed when it was used.
    public static func closed(_ operation: String) -> LoopError {
        LoopError(name: "ECLOSED", message: "handle is closed", operation: operation)
    }
}

/// The system's text for an `errno` value, as `strerror` gives it ("No such file or directory").
public func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}
