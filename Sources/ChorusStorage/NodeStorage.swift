import CSQLite

/// A node's durable store: rows of opaque bytes in keyspaces, and named metadata blobs, in one
/// SQLite file `<directory>/chorus.sqlite3`.
///
/// Not thread-safe: a `NodeStorage` is owned by one thread at a time (in a running node, a
/// `StorageWriter`'s thread, after the node has loaded it). It is not `Sendable`; `StorageWriter`
/// takes it over with `sending`.
///
/// The file holds two tables: `meta(name TEXT PRIMARY KEY, value BLOB)`, with the storage's own
/// `format`, `cluster`, `node` and `created` (Unix milliseconds) as UTF-8 text beside the callers'
/// entries, and `rows(keyspace, key, value)` (see `Keyspace`).
public final class NodeStorage {
    /// The format this version writes and reads, stored under the meta name `format`.
    public static let formatVersion = 1
    /// The store's file name in its directory.
    public static let fileName = "chorus.sqlite3"
    /// Meta names the storage writes itself; `StorageWrite.meta` may not use them.
    public static let reservedMetaNames: Set<String> = ["format", "cluster", "node", "created"]

    /// The store's file.
    public let path: String
    /// The cluster and node this store belongs to.
    public let identity: StorageIdentity
    /// What a commit survives.
    public let durability: StorageDurability

    /// The statements of an open store, prepared once.
    private struct Statements {
        let begin, commit, rollback: SQLiteStatement
        let put, delete, clear, putMeta, getMeta, scan, count: SQLiteStatement
        let appendJournal, clearJournal, scanJournal, journalHeaders: SQLiteStatement
    }
    /// The read-write connection; nil once closed. Internal for tests (to set `max_page_count`).
    private(set) var connection: SQLiteConnection?
    private var statements: Statements?
    /// Set while `forEachRow` runs, which may not be re-entered nor interleaved with a commit.
    private var iterating = false

    private init(path: String, identity: StorageIdentity, durability: StorageDurability,
                 connection: SQLiteConnection, statements: Statements) {
        self.path = path
        self.identity = identity
        self.durability = durability
        self.connection = connection
        self.statements = statements
    }

    // MARK: Opening

    /// Opens the store of `identity` in `directory`, creating the directory and a new store when
    /// they are missing.
    ///
    /// An existing file is checked before anything is written to it, and refused, untouched, when it
    /// is not SQLite or has no Chorus schema (`.notAChorusStore`), fails `PRAGMA quick_check`
    /// (`.corrupt`), has a format this version does not know (`.unsupportedFormat`), or belongs to
    /// another cluster or node name (`.foreign`). The check reads the whole file once.
    public static func open(directory: String, identity: StorageIdentity,
                            durability: StorageDurability = .processCrash) throws(StorageError) -> NodeStorage {
        try FileSystem.makeDirectory(directory)
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let path = base + fileName
        if !(try FileSystem.exists(path)) {
            try create(path: path, directory: directory, identity: identity)
        }
        try check(path: path, identity: identity)

        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE)
        } catch {
            throw .cannotOpen(path: path, reason: error.description)
        }
        do throws(StorageError) {
            let mode = try connection.prepare("PRAGMA journal_mode=WAL")
            guard try mode.step(), mode.text(at: 0) == "wal" else {
                throw StorageError.cannotOpen(path: path, reason: "SQLite could not switch the file to WAL mode (journal_mode is \(mode.text(at: 0) ?? "unknown"))")
            }
            mode.reset()
            try connection.execute("PRAGMA synchronous=\(durability.synchronousPragma)")
            // Up to 64 MiB of page cache (allocated as used, per store): puts of keys in random
            // order then find their pages there instead of spilling and rereading them; with the
            // 2 MiB default a million puts take twice as long (chorus-storage-bench).
            try connection.execute("PRAGMA cache_size=-65536")
            // The journal of change records (stores written before it existed lack it).
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS journal(seq INTEGER PRIMARY KEY, keyspace INTEGER NOT NULL, body BLOB NOT NULL)
                """)
            let statements = Statements(
                begin: try connection.prepare("BEGIN"),
                commit: try connection.prepare("COMMIT"),
                rollback: try connection.prepare("ROLLBACK"),
                put: try connection.prepare("INSERT OR REPLACE INTO rows(keyspace, key, value) VALUES(?1, ?2, ?3)"),
                delete: try connection.prepare("DELETE FROM rows WHERE keyspace = ?1 AND key = ?2"),
                clear: try connection.prepare("DELETE FROM rows WHERE keyspace = ?1"),
                putMeta: try connection.prepare("INSERT OR REPLACE INTO meta(name, value) VALUES(?1, ?2)"),
                getMeta: try connection.prepare("SELECT value FROM meta WHERE name = ?1"),
                scan: try connection.prepare("SELECT key, value FROM rows WHERE keyspace = ?1 ORDER BY key"),
                count: try connection.prepare("SELECT count(*) FROM rows WHERE keyspace = ?1"),
                appendJournal: try connection.prepare("INSERT INTO journal(keyspace, body) VALUES(?1, ?2)"),
                clearJournal: try connection.prepare("DELETE FROM journal WHERE keyspace = ?1"),
                scanJournal: try connection.prepare("SELECT body FROM journal WHERE keyspace = ?1 ORDER BY seq"),
                journalHeaders: try connection.prepare("SELECT substr(body, 1, 4) FROM journal WHERE keyspace = ?1"))
            return NodeStorage(path: path, identity: identity, durability: durability,
                               connection: connection, statements: statements)
        } catch {
            throw mapCorruption(error, path: path)
        }
    }

    /// Makes a new store at `path`: built whole as `<path>.new`, then linked into place, so that a
    /// crash while creating leaves no half-made `chorus.sqlite3` to be refused at the next start.
    private static func create(path: String, directory: String, identity: StorageIdentity) throws(StorageError) {
        let temporary = path + ".new"
        // A leftover of a creation that crashed: ours by its name, and never a store in use.
        for suffix in ["", "-wal", "-shm", "-journal"] { try FileSystem.remove(temporary + suffix) }
        do {
            let connection = try SQLiteConnection(path: temporary, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            // Built in rollback-journal mode, synced on commit; switched to WAL last, so that the
            // closed file holds everything and has no -wal file to carry along.
            try connection.execute("PRAGMA synchronous=FULL")
            try connection.execute("""
                BEGIN;
                CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE rows(keyspace INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
                                  PRIMARY KEY(keyspace, key)) WITHOUT ROWID;
                CREATE TABLE journal(seq INTEGER PRIMARY KEY, keyspace INTEGER NOT NULL, body BLOB NOT NULL);
                """)
            let insert = try connection.prepare("INSERT INTO meta(name, value) VALUES(?1, ?2)")
            for (name, value) in [("format", String(formatVersion)), ("cluster", identity.cluster),
                                  ("node", identity.node), ("created", String(FileSystem.unixMilliseconds()))] {
                try insert.bind(name, at: 1)
                try insert.bind(Array(value.utf8), at: 2)
                try insert.step()
                insert.reset()
            }
            try connection.execute("COMMIT")
            try connection.execute("PRAGMA journal_mode=WAL")
        } catch {
            throw .cannotOpen(path: temporary, reason: error.description)
        }
        if try FileSystem.moveNoReplace(temporary, to: path) {
            try FileSystem.syncDirectory(directory)
        } else {
            // Another process created the store meanwhile: check that one instead.
            try FileSystem.remove(temporary)
        }
    }

    /// Refuses, without writing to it, a file that is not a sound Chorus store of `identity`.
    ///
    /// Reads through a read-only connection, which never rolls back a journal nor checkpoints a WAL
    /// into the file. When the file has no `-wal` or `-journal` beside it (it was closed cleanly, or
    /// is not SQLite's), it is opened `immutable`, so that SQLite creates no `-wal` and `-shm` files
    /// beside a file it may refuse; otherwise they exist already and hold part of its content.
    private static func check(path: String, identity: StorageIdentity) throws(StorageError) {
        let header = try FileSystem.prefix(of: path, count: 16)
        guard header == Array("SQLite format 3\0".utf8) else { throw .notAChorusStore(path: path) }

        let hasWAL = try FileSystem.exists(path + "-wal")
        let hasJournal = try FileSystem.exists(path + "-journal")
        let connection: SQLiteConnection
        do {
            if hasWAL || hasJournal {
                connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
            } else {
                connection = try SQLiteConnection(path: "file:\(uriEscaped(path))?immutable=1",
                                                  flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_URI)
            }
        } catch {
            throw .cannotOpen(path: path, reason: error.description)
        }
        defer { connection.close() }
        do throws(StorageError) {
            let quickCheck = try connection.prepare("PRAGMA quick_check(5)")
            var problems: [String] = []
            while try quickCheck.step() { problems.append(quickCheck.text(at: 0) ?? "") }
            if problems != ["ok"] {
                throw StorageError.corrupt(path: path, reason: "quick_check: " + problems.joined(separator: "; "))
            }
            let tables = try connection.prepare(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('meta', 'rows')")
            guard try tables.step(), tables.int64(at: 0) == 2 else { throw StorageError.notAChorusStore(path: path) }
        } catch {
            throw mapCorruption(error, path: path)
        }

        // Any failure to read `meta` as ours (another program's table of that name) means not ours.
        func meta(_ name: String) throws(StorageError) -> String? {
            do {
                let select = try connection.prepare("SELECT value FROM meta WHERE name = ?1")
                try select.bind(name, at: 1)
                guard try select.step() else { return nil }
                return String(decoding: select.blob(at: 0), as: UTF8.self)
            } catch {
                let mapped = mapCorruption(error, path: path)
                if case .corrupt = mapped { throw mapped }
                throw .notAChorusStore(path: path)
            }
        }
        guard let formatText = try meta("format"), let format = Int(formatText) else {
            throw .notAChorusStore(path: path)
        }
        guard format == formatVersion else { throw .unsupportedFormat(path: path, found: format) }
        guard let cluster = try meta("cluster"), let node = try meta("node") else {
            throw .notAChorusStore(path: path)
        }
        let found = StorageIdentity(cluster: cluster, node: node)
        guard found == identity else { throw .foreign(path: path, expected: identity, found: found) }
    }

    /// `path` with the characters a URI filename gives a meaning to percent-encoded.
    private static func uriEscaped(_ path: String) -> String {
        var escaped = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "/"), UInt8(ascii: "-"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                escaped.unicodeScalars.append("%")
                escaped.unicodeScalars.append(digits[Int(byte >> 4)])
                escaped.unicodeScalars.append(digits[Int(byte & 15)])
            }
        }
        return escaped
    }

    /// `.corrupt` for SQLite's SQLITE_CORRUPT and SQLITE_NOTADB; any other error as it is.
    private static func mapCorruption(_ error: StorageError, path: String) -> StorageError {
        switch error.sqliteCode {
        case SQLITE_CORRUPT?, SQLITE_NOTADB?:
            if case let .sqlite(_, message) = error { return .corrupt(path: path, reason: message) }
            return error
        default:
            return error
        }
    }

    // MARK: Writing

    /// Applies `writes` in order, in one transaction: all of them or, when it throws, none.
    ///
    /// Puts and deletes bind the caller's bytes in place (no copy) through statements prepared at
    /// open. An empty array commits nothing.
    public func commit(_ writes: [StorageWrite]) throws(StorageError) {
        if writes.isEmpty {
            if isClosed { throw .closed }
            return
        }
        try commit(batches: CollectionOfOne(writes))
    }

    /// Applies every batch of `batches`, in order, in one transaction (a group commit).
    func commit<Batches: Sequence<[StorageWrite]>>(batches: Batches) throws(StorageError) {
        guard let statements, let connection else { throw .closed }
        precondition(!iterating, "NodeStorage.commit called from a forEachRow body")
        do {
            try run(statements.begin)
            for batch in batches {
                for write in batch { try apply(write, statements) }
            }
            try run(statements.commit)
        } catch {
            // Some errors (SQLITE_FULL, SQLITE_IOERR) may have rolled the transaction back already.
            if !connection.isAutocommit { try? run(statements.rollback) }
            throw Self.mapCorruption(error, path: path)
        }
    }

    @inline(__always)
    private func run(_ statement: SQLiteStatement) throws(StorageError) {
        defer { statement.reset() }
        try statement.step()
    }

    /// Binds and runs one write. Every parameter of a statement is bound again before each step, so
    /// the in-place bindings (`SQLITE_STATIC`) left behind after `reset` are never read once the
    /// bytes they point to are gone.
    @inline(__always)
    private func apply(_ write: StorageWrite, _ statements: Statements) throws(StorageError) {
        switch write {
        case let .put(keyspace, key, value):
            let put = statements.put
            defer { put.reset() }
            try put.bind(Int64(keyspace), at: 1)
            try withBytes(key, value) { key, value throws(StorageError) in
                try put.bind(key, at: 2)
                try put.bind(value, at: 3)
                try put.step()
            }
        case let .delete(keyspace, key):
            let delete = statements.delete
            defer { delete.reset() }
            try delete.bind(Int64(keyspace), at: 1)
            try withBytes(key, []) { key, _ throws(StorageError) in
                try delete.bind(key, at: 2)
                try delete.step()
            }
        case let .meta(name, value):
            precondition(!Self.reservedMetaNames.contains(name), "the meta name \"\(name)\" belongs to NodeStorage")
            let putMeta = statements.putMeta
            defer { putMeta.reset() }
            try putMeta.bind(name, at: 1)
            try putMeta.bind(value, at: 2)
            try putMeta.step()
        case let .clear(keyspace):
            let clear = statements.clear
            defer { clear.reset() }
            try clear.bind(Int64(keyspace), at: 1)
            try clear.step()
        case let .journal(keyspace, record):
            let append = statements.appendJournal
            defer { append.reset() }
            try append.bind(Int64(keyspace), at: 1)
            try withBytes(record.bytes, []) { body, _ throws(StorageError) in
                try append.bind(body, at: 2)
                try append.step()
            }
        case let .foldJournal(keyspace):
            try fold(keyspace, statements)
        }
    }

    /// The last change of each key in the journal, applied to the rows in key order (so that the
    /// B-tree is written page after page), then the journal emptied.
    private func fold(_ keyspace: Keyspace, _ statements: Statements) throws(StorageError) {
        var latest: [[UInt8]: [UInt8]?] = [:]
        do {
            try forEachJournalChange(keyspace: keyspace) { key, value in
                latest[Array(key)] = value.map { Array($0) }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw .corrupt(path: path, reason: "\(error)")
        }
        for key in latest.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if let value = latest[key]! {
                try apply(.put(keyspace: keyspace, key: key, value: value), statements)
            } else {
                try apply(.delete(keyspace: keyspace, key: key), statements)
            }
        }
        let clear = statements.clearJournal
        defer { clear.reset() }
        try clear.bind(Int64(keyspace), at: 1)
        try clear.step()
    }

    // MARK: Reading (at start; in normal operation reads come from memory)

    /// The metadata blob `name`, nil if it was never written.
    public func meta(_ name: String) throws(StorageError) -> [UInt8]? {
        guard let statements else { throw .closed }
        let select = statements.getMeta
        defer { select.reset() }
        do {
            try select.bind(name, at: 1)
            guard try select.step() else { return nil }
            return select.bytes(at: 0)
        } catch {
            throw Self.mapCorruption(error, path: path)
        }
    }

    /// Calls `body` with each row of `keyspace`, in key order, streaming: the buffers are SQLite's
    /// own, valid during the call only (copy what must outlive it).
    ///
    /// Throws `StorageError` when SQLite fails, or what `body` throws, unchanged (which ends the
    /// scan). `body` may not call back into this storage.
    public func forEachRow(keyspace: Keyspace,
                           _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) throws {
        guard let statements else { throw StorageError.closed }
        try scan(statements.scan, keyspace: keyspace) { row in try body(row.blob(at: 0), row.blob(at: 1)) }
    }

    /// Calls `body` with each change in the journal of `keyspace`, oldest first, streaming (the
    /// buffers are valid during the call only; a nil value is a removal). Throws as `forEachRow`,
    /// and `corrupt` for a record that does not parse.
    public func forEachJournalChange(keyspace: Keyspace,
                                     _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) throws -> Void) throws {
        guard let statements else { throw StorageError.closed }
        try scan(statements.scanJournal, keyspace: keyspace) { row in
            try JournalRecord.forEachChange(in: row.blob(at: 0), path: path, body)
        }
    }

    /// Steps a query over one keyspace, calling `body` with each row; no other scan may run inside.
    private func scan(_ query: SQLiteStatement, keyspace: Keyspace, _ body: (SQLiteStatement) throws -> Void) throws {
        precondition(!iterating, "NodeStorage scans may not nest")
        iterating = true
        defer {
            iterating = false
            query.reset()
        }
        try query.bind(Int64(keyspace), at: 1)
        while true {
            let hasRow: Bool
            do {
                hasRow = try query.step()
            } catch {
                throw Self.mapCorruption(error, path: path)
            }
            guard hasRow else { return }
            try body(query)
        }
    }

    /// How many changes the journal of `keyspace` holds (from the records' headers alone): at most
    /// that many keys besides the rows', for a restore to make room for at once.
    public func journalChangeCount(keyspace: Keyspace) throws(StorageError) -> Int {
        guard let statements else { throw .closed }
        let headers = statements.journalHeaders
        defer { headers.reset() }
        do {
            try headers.bind(Int64(keyspace), at: 1)
            var total = 0
            while try headers.step() { total += JournalRecord.count(of: headers.blob(at: 0)) }
            return total
        } catch {
            throw Self.mapCorruption(error, path: path)
        }
    }

    /// Frees the memory of SQLite's page cache (what a restore's scan left there; pages are read in
    /// again as commits need them), and returns the process's freed heap to the system.
    public func releaseMemory() {
        try? connection?.execute("PRAGMA shrink_memory")
        chorus_storage_trim_heap()
    }

    /// How many rows `keyspace` holds.
    public func rowCount(keyspace: Keyspace) throws(StorageError) -> Int {
        guard let statements else { throw .closed }
        let count = statements.count
        defer { count.reset() }
        do {
            try count.bind(Int64(keyspace), at: 1)
            try count.step()
            return Int(count.int64(at: 0))
        } catch {
            throw Self.mapCorruption(error, path: path)
        }
    }

    // MARK: Closing

    /// Closes the file (SQLite checkpoints the WAL into it); later calls throw `.closed`.
    /// Calling it twice is harmless; releasing the storage closes it too.
    public func close() {
        precondition(!iterating, "NodeStorage.close called from a forEachRow body")
        statements = nil
        connection?.close()
        connection = nil
    }

    /// Whether `close()` has been called.
    public var isClosed: Bool { connection == nil }
}

@available(*, unavailable, message: "a NodeStorage is owned by one thread at a time; StorageWriter takes it over")
extension NodeStorage: Sendable {}

/// Runs `body` with the bytes of two arrays in place.
@inline(__always)
private func withBytes(_ first: [UInt8], _ second: [UInt8],
                       _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(StorageError) -> Void) throws(StorageError) {
    var failure: StorageError?
    first.withUnsafeBytes { first in
        second.withUnsafeBytes { second in
            do throws(StorageError) { try body(first, second) } catch { failure = error }
        }
    }
    if let failure { throw failure }
}
