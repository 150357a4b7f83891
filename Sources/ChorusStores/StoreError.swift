/// Why a store operation was refused. Nothing was written when one is thrown.
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The client's epoch store was never initialised, or was removed (the seed's missing table).
    case clientNotStarted(client: String)
    /// No shape of the stack has this handle (never added, or removed).
    case unknownShape(handle: ShapeHandle)
    /// An argument no store can keep: a name over the wire's string limit, a negative time, ...
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .clientNotStarted(client): "the epoch store of client \"\(client)\" is not started"
        case let .unknownShape(handle): "no shape has the handle \(handle)"
        case let .invalidArgument(reason): "invalid argument: \(reason)"
        }
    }
}
