import CSQLite

/// Why a store could not be opened, read or written.
///
/// The refusals at open (`notAChorusStore`, `corrupt`, `foreign`, `unsupportedFormat`) leave the file
/// exactly as it was: their messages tell the operator to move it away or point data_dir elsewhere.
/// A store is never overwritten.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The directory or the file could not be created or opened (permissions, a missing parent, ...).
    case cannotOpen(path: String, reason: String)
    /// The file is not a SQLite database, or a SQLite database without Chorus's schema.
    case notAChorusStore(path: String)
    /// The file is a damaged SQLite database: its integrity check failed, or SQLite reported
    /// SQLITE_CORRUPT or SQLITE_NOTADB while reading it.
    case corrupt(path: String, reason: String)
    /// The file is a Chorus store of another cluster or of another node name.
    case foreign(path: String, expected: StorageIdentity, found: StorageIdentity)
    /// The file is a Chorus store in a format this version does not know (written by a newer one).
    case unsupportedFormat(path: String, found: Int)
    /// Any other SQLite failure: a full disk (SQLITE_FULL), an I/O error, a lock held elsewhere.
    /// `code` is SQLite's extended result code, `message` what `sqlite3_errmsg` said.
    case sqlite(code: Int32, message: String)
    /// The store has been closed (or the writer shut down).
    case closed

    /// A message for the operator: what is wrong with which file, and what to do about it.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open the store \(path): \(reason); check that data_dir exists or can be created and is writable by this process"
        case let .notAChorusStore(path):
            return "\(path) is not a Chorus store (not SQLite, or SQLite without Chorus's schema); it was left untouched: move it away or point data_dir elsewhere"
        case let .corrupt(path, reason):
            return "the store \(path) is corrupt (\(reason)); it was left untouched: move it away (keep it for inspection) or point data_dir elsewhere, and the node will start empty and catch up from its peers"
        case let .foreign(path, expected, found):
            return "the store \(path) belongs to \(found), not to this \(expected); it was left untouched: move it away or point data_dir elsewhere"
        case let .unsupportedFormat(path, found):
            return "the store \(path) has format \(found), which this version does not know (it reads format \(NodeStorage.formatVersion)); it was left untouched: run a Chorus version that knows it, or move it away or point data_dir elsewhere"
        case let .sqlite(code, message):
            return "SQLite error \(code) (\(String(cString: sqlite3_errstr(code)))): \(message)"
        case .closed:
            return "the store is closed"
        }
    }

    /// SQLite's primary result code (the low byte of the extended one), for `.sqlite` errors.
    public var sqliteCode: Int32? {
        if case let .sqlite(code, _) = self { return code & 0xFF }
        return nil
    }
}
