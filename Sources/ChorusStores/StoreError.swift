/// Why a store operation was refused. Nothing was written when one is thrown, except with
/// `notPersisted` (the write stands in memory and on the peers, and is committed again later).
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The client's epoch store was never initialised, or was removed (the seed's missing table).
    case clientNotStarted(client: String)
    /// No shape of the stack has this handle (never added, or removed).
    case unknownShape(handle: ShapeHandle)
    /// An argument no store can keep: a name over the wire's string limit, a negative time, ...
    case invalidArgument(String)
    /// The node's stores are not open yet (`start` has not run).
    case nodeNotStarted
    /// The node is stopping or stopped: nothing more is written.
    case nodeStopped
    /// The write is applied in memory and replicated, but this node could not commit it to disk
    /// (the reason says why: a full disk, say). It is written again with the next commit.
    case notPersisted(String)
    /// The node's store file holds rows that do not decode: damaged, or from another version.
    case corruptStore(String)

    public var description: String {
        switch self {
        case let .clientNotStarted(client): "the epoch store of client \"\(client)\" is not started"
        case let .unknownShape(handle): "no shape has the handle \(handle)"
        case let .invalidArgument(reason): "invalid argument: \(reason)"
        case .nodeNotStarted: "the node is not started: its stores are not open"
        case .nodeStopped: "the node stopped"
        case let .notPersisted(reason): "the write is applied but could not be persisted on this node: \(reason)"
        case let .corruptStore(reason): "the store file cannot be read: \(reason)"
        }
    }
}
