/// What a committed transaction survives. The store is always in WAL mode (`journal_mode=WAL`); the
/// two differ in when SQLite calls fsync.
public enum StorageDurability: Sendable, Equatable {
    /// `synchronous=NORMAL`: a commit appends to the WAL file without fsync (the WAL is synced when
    /// it is checkpointed into the database). Every committed transaction survives the end of the
    /// process, `kill -9` included, because it is in the OS page cache, which the kernel writes out
    /// whatever becomes of the process. A power loss or kernel crash may lose the last transactions
    /// (never corrupting the file: it comes back as of an earlier commit). The default: a node that
    /// loses its last writes catches up from its peers, and commits cost no disk flush.
    case processCrash
    /// `synchronous=FULL`: every commit fsyncs the WAL before it returns, so a committed transaction
    /// also survives a power loss or kernel crash, at the cost of one disk flush per transaction
    /// (group commit shares it between the submissions of a transaction).
    case powerLoss

    /// The value of `PRAGMA synchronous`.
    var synchronousPragma: String {
        switch self {
        case .processCrash: return "NORMAL"
        case .powerLoss: return "FULL"
        }
    }
}
