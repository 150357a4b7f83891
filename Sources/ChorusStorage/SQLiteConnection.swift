import CSQLite

/// A thin owner of one SQLite connection (`sqlite3*`).
///
/// Not thread-safe: a connection and its statements are used by one thread at a time (SQLite is
/// opened with `SQLITE_OPEN_NOMUTEX`, so it does not lock for us). The connection closes when it is
/// released or `close()` is called; it is closed with `sqlite3_close_v2`, so statements still alive
/// then keep it usable until they are finalized (each statement also holds its connection).
///
/// Failures throw `StorageError.sqlite` with SQLite's extended result code and `sqlite3_errmsg`.
public final class SQLiteConnection {
    /// The database file's path, as given to `init`.
    public let path: String
    /// The `sqlite3*`; nil once closed.
    private(set) var handle: OpaquePointer?

    /// Opens `path` with `SQLITE_OPEN_*` `flags` (e.g. `SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE`);
    /// `SQLITE_OPEN_NOMUTEX` and `SQLITE_OPEN_EXRESCODE` are always added.
    public init(path: String, flags: Int32) throws(StorageError) {
        self.path = path
        var db: OpaquePointer?
        let status = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(db)
            throw .sqlite(code: status, message: "open \(path): \(message)")
        }
        handle = db
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Closes the connection now; later calls throw `.closed`. Calling it twice is harmless.
    public func close() {
        sqlite3_close_v2(handle)
        handle = nil
    }

    /// Runs one or more `;`-separated statements that return no rows of interest
    /// (`BEGIN`, `COMMIT`, `CREATE TABLE ...`, pragmas that set).
    public func execute(_ sql: String) throws(StorageError) {
        guard let handle else { throw .closed }
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_free(message)
            throw .sqlite(code: sqlite3_extended_errcode(handle), message: "\(sql): \(text)")
        }
    }

    /// Compiles one statement, to be bound, stepped and reset as often as needed.
    public func prepare(_ sql: String) throws(StorageError) -> SQLiteStatement {
        guard let handle else { throw .closed }
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw error(status, "prepare \(sql)")
        }
        return SQLiteStatement(connection: self, statement: statement, sql: sql)
    }

    /// Whether no transaction is open (SQLite's autocommit mode).
    public var isAutocommit: Bool {
        guard let handle else { return true }
        return sqlite3_get_autocommit(handle) != 0
    }

    /// The error for a failed call that returned `status`, with SQLite's current message.
    func error(_ status: Int32, _ operation: String) -> StorageError {
        guard let handle else { return .closed }
        return .sqlite(code: sqlite3_extended_errcode(handle), message: "\(operation): \(String(cString: sqlite3_errmsg(handle)))")
    }
}

@available(*, unavailable, message: "a SQLite connection is used by one thread at a time")
extension SQLiteConnection: Sendable {}
