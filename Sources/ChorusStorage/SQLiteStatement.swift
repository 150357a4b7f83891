import CSQLite

/// A prepared statement of a `SQLiteConnection`: bind, step, read columns, reset.
///
/// Parameter and column indexes follow SQLite: parameters count from 1, columns from 0.
/// Used on its connection's thread only; finalized when released.
///
/// Bytes bound with `bind(_: UnsafeRawBufferPointer, at:)` are not copied (`SQLITE_STATIC`): the
/// caller keeps them alive and unchanged until the statement has been stepped to the end, reset, or
/// rebound, and clears them (`clearBindings()`) before they go away if the statement might be stepped
/// again without being rebound. `[UInt8]` and `String` arguments are copied (`SQLITE_TRANSIENT`).
public final class SQLiteStatement {
    /// The connection, kept alive as long as this statement.
    public let connection: SQLiteConnection
    /// The SQL text, for error messages.
    public let sql: String
    private let statement: OpaquePointer

    init(connection: SQLiteConnection, statement: OpaquePointer, sql: String) {
        self.connection = connection
        self.statement = statement
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(statement)
    }

    // MARK: Binding

    /// Binds an integer to parameter `index`.
    @inline(__always)
    public func bind(_ value: Int64, at index: Int32) throws(StorageError) {
        try check(sqlite3_bind_int64(statement, index, value), "bind")
    }

    /// Binds a blob that SQLite reads in place (`SQLITE_STATIC`); see the type's note on lifetime.
    /// An empty buffer binds an empty blob, never NULL.
    @inline(__always)
    public func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(StorageError) {
        if let base = bytes.baseAddress, bytes.count > 0 {
            try check(sqlite3_bind_blob64(statement, index, base, sqlite3_uint64(bytes.count), chorus_sqlite_static()), "bind")
        } else {
            try check(sqlite3_bind_zeroblob(statement, index, 0), "bind")
        }
    }

    /// Binds a copy of `bytes` as a blob (`SQLITE_TRANSIENT`). An empty array binds an empty blob.
    public func bind(_ bytes: [UInt8], at index: Int32) throws(StorageError) {
        let status = bytes.withUnsafeBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return sqlite3_bind_zeroblob(statement, index, 0) }
            return sqlite3_bind_blob64(statement, index, base, sqlite3_uint64(buffer.count), chorus_sqlite_transient())
        }
        try check(status, "bind")
    }

    /// Binds a copy of `text` as UTF-8 text (`SQLITE_TRANSIENT`).
    public func bind(_ text: String, at index: Int32) throws(StorageError) {
        var text = text
        let status = text.withUTF8 { utf8 -> Int32 in
            guard let base = utf8.baseAddress, utf8.count > 0 else {
                return sqlite3_bind_text(statement, index, "", 0, chorus_sqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                sqlite3_bind_text64(statement, index, $0, sqlite3_uint64(utf8.count), chorus_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
        }
        try check(status, "bind")
    }

    /// Sets every parameter back to NULL (drops pointers to bytes bound with `SQLITE_STATIC`).
    @inline(__always)
    public func clearBindings() {
        sqlite3_clear_bindings(statement)
    }

    // MARK: Stepping

    /// Runs the statement to its next row: true when a row is ready to read, false when it is done.
    /// Throws on failure; the statement must then be reset before it runs again.
    @inline(__always)
    @discardableResult
    public func step() throws(StorageError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status: throw connection.error(status, sql)
        }
    }

    /// Makes the statement ready to run again; its bindings stay.
    @inline(__always)
    public func reset() {
        // sqlite3_reset repeats the error of the last step, which step() has already thrown.
        sqlite3_reset(statement)
    }

    // MARK: Columns (valid after step() returned true, until the next step or reset)

    /// Column `index` as an integer.
    @inline(__always)
    public func int64(at index: Int32) -> Int64 {
        sqlite3_column_int64(statement, index)
    }

    /// Column `index` as bytes SQLite owns, valid until the next step, reset or column read of
    /// another type on this column. Empty (with a nil base address) for NULL and empty blobs.
    @inline(__always)
    public func blob(at index: Int32) -> UnsafeRawBufferPointer {
        let base = sqlite3_column_blob(statement, index)
        let count = Int(sqlite3_column_bytes(statement, index))
        return UnsafeRawBufferPointer(start: count > 0 ? base : nil, count: count)
    }

    /// Column `index` as a copied array of bytes.
    public func bytes(at index: Int32) -> [UInt8] {
        Array(blob(at: index))
    }

    /// Column `index` as text, nil when it is NULL.
    public func text(at index: Int32) -> String? {
        guard let text = sqlite3_column_text(statement, index) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Whether column `index` is NULL.
    public func isNull(at index: Int32) -> Bool {
        sqlite3_column_type(statement, index) == SQLITE_NULL
    }

    @inline(__always)
    private func check(_ status: Int32, _ operation: String) throws(StorageError) {
        if status != SQLITE_OK { throw connection.error(status, "\(operation) \(sql)") }
    }
}

@available(*, unavailable, message: "a SQLite statement is used by its connection's thread only")
extension SQLiteStatement: Sendable {}
