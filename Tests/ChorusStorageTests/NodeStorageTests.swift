@testable import ChorusStorage
import CSQLite
import Testing

private let alpha = StorageIdentity(cluster: "alpha", node: "n1")

@Suite("NodeStorage: a node's rows and metadata in one SQLite file", .timeLimit(.minutes(1)))
struct NodeStorageTests {
    @Test("given a new store with rows and meta, when it is closed and reopened, then every row and meta blob is there, in key order")
    func reopenKeepsRowsAndMeta() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory + "/data/node", identity: alpha)
            try storage.commit([
                .put(keyspace: 1, key: b("b"), value: b("2")),
                .put(keyspace: 1, key: b("a"), value: b("1")),
                .put(keyspace: 1, key: [], value: []),
                .put(keyspace: 2, key: b("a"), value: [0, 255, 0]),
                .meta(name: "version", value: [7, 7]),
            ])
            storage.close()

            let reopened = try NodeStorage.open(directory: directory + "/data/node", identity: alpha)
            defer { reopened.close() }
            let one = try rows(of: reopened, keyspace: 1)
            #expect(one.map(\.0) == [[], b("a"), b("b")])
            #expect(one.map(\.1) == [[], b("1"), b("2")])
            #expect(try rows(of: reopened, keyspace: 2).map(\.1) == [[0, 255, 0]])
            #expect(try reopened.rowCount(keyspace: 1) == 3)
            #expect(try reopened.rowCount(keyspace: 3) == 0)
            #expect(try reopened.meta("version") == [7, 7])
            #expect(try reopened.meta("absent") == nil)
            #expect(try reopened.meta("format") == b("1"))
            #expect(try reopened.meta("cluster") == b("alpha"))
            #expect(try reopened.meta("node") == b("n1"))
        }
    }

    @Test("given one batch, when it puts then deletes a key, or clears then puts, then the writes apply in order")
    func writesApplyInOrder() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            defer { storage.close() }
            try storage.commit([
                .put(keyspace: 1, key: b("k"), value: b("old")),
                .put(keyspace: 2, key: b("x"), value: b("gone")),
                .put(keyspace: 3, key: b("kept"), value: b("3")),
            ])
            try storage.commit([
                .put(keyspace: 1, key: b("k"), value: b("new")),
                .delete(keyspace: 1, key: b("k")),
                .delete(keyspace: 1, key: b("never there")),
                .put(keyspace: 1, key: b("j"), value: b("first")),
                .put(keyspace: 1, key: b("j"), value: b("second")),
                .clear(keyspace: 2),
                .put(keyspace: 2, key: b("y"), value: b("after clear")),
                .meta(name: "m", value: b("1")),
                .meta(name: "m", value: b("2")),
            ])
            #expect(try rows(of: storage, keyspace: 1).map { [$0.0, $0.1] } == [[b("j"), b("second")]])
            #expect(try rows(of: storage, keyspace: 2).map { [$0.0, $0.1] } == [[b("y"), b("after clear")]])
            #expect(try storage.rowCount(keyspace: 3) == 1)
            #expect(try storage.meta("m") == b("2"))
        }
    }

    @Test("given a batch whose last write fails (disk full), then none of the batch is kept, and the next batch commits")
    func failedBatchKeepsNothing() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            defer { storage.close() }
            try storage.commit([.put(keyspace: 1, key: b("before"), value: b("1"))])
            try storage.connection!.execute("PRAGMA max_page_count = 8")
            let big = [UInt8](repeating: 1, count: 64 * 1024)
            #expect(throws: StorageError.self) {
                try storage.commit([.put(keyspace: 1, key: b("small"), value: b("1")),
                                    .put(keyspace: 1, key: b("big"), value: big)])
            }
            do throws(StorageError) {
                try storage.commit([.put(keyspace: 1, key: b("big"), value: big)])
                Issue.record("a commit over max_page_count succeeded")
            } catch {
                #expect(error.sqliteCode == SQLITE_FULL, "\(error)")
            }
            #expect(try rows(of: storage, keyspace: 1).map(\.0) == [b("before")])
            try storage.connection!.execute("PRAGMA max_page_count = 1000000")
            try storage.commit([.put(keyspace: 1, key: b("big"), value: big)])
            #expect(try storage.rowCount(keyspace: 1) == 2)
        }
    }

    @Test("given the files of a store whose process died (copied while it was open), when they are opened, then every committed row is there")
    func crashImageKeepsCommittedRows() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory + "/live", identity: alpha)
            defer { storage.close() }
            try storage.commit([.put(keyspace: 1, key: b("a"), value: b("1"))])
            try storage.commit([.put(keyspace: 1, key: b("b"), value: b("2")), .meta(name: "epoch", value: [3])])
            try FileSystem.makeDirectory(directory + "/image")
            for suffix in ["", "-wal", "-shm"] {
                try writeFile(directory + "/image/chorus.sqlite3" + suffix, readFile(directory + "/live/chorus.sqlite3" + suffix))
            }
            #expect(try readFile(directory + "/image/chorus.sqlite3-wal").count > 0)
            let before = try readFile(directory + "/image/chorus.sqlite3")
            #expect(throws: StorageError.self) {
                try NodeStorage.open(directory: directory + "/image", identity: StorageIdentity(cluster: "beta", node: "n1"))
            }
            #expect(try readFile(directory + "/image/chorus.sqlite3") == before)

            let recovered = try NodeStorage.open(directory: directory + "/image", identity: alpha)
            defer { recovered.close() }
            #expect(try rows(of: recovered, keyspace: 1).map(\.0) == [b("a"), b("b")])
            #expect(try recovered.meta("epoch") == [3])
        }
    }

    @Test("given a store of cluster alpha, when it is opened for another cluster or another node name, then it is refused as foreign and left unchanged")
    func foreignIdentityIsRefused() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            try storage.commit([.put(keyspace: 1, key: b("k"), value: b("v"))])
            storage.close()
            let path = directory + "/chorus.sqlite3"
            let before = try readFile(path)
            let names = directoryNames(directory)

            for other in [StorageIdentity(cluster: "beta", node: "n1"), StorageIdentity(cluster: "alpha", node: "n2")] {
                #expect(throws: StorageError.foreign(path: path, expected: other, found: alpha)) {
                    try NodeStorage.open(directory: directory, identity: other)
                }
            }
            #expect(try readFile(path) == before)
            #expect(directoryNames(directory) == names)
            let reopened = try NodeStorage.open(directory: directory, identity: alpha)
            #expect(try reopened.rowCount(keyspace: 1) == 1)
            reopened.close()
        }
    }

    @Test("given a chorus.sqlite3 of garbage bytes, when it is opened, then it is refused as not a Chorus store and left unchanged")
    func garbageFileIsRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/chorus.sqlite3"
            let garbage = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }
            try writeFile(path, garbage)
            #expect(throws: StorageError.notAChorusStore(path: path)) {
                try NodeStorage.open(directory: directory, identity: alpha)
            }
            #expect(try readFile(path) == garbage)
            #expect(directoryNames(directory) == ["chorus.sqlite3"])

            try writeFile(path, [])
            #expect(throws: StorageError.notAChorusStore(path: path)) {
                try NodeStorage.open(directory: directory, identity: alpha)
            }
            #expect(try readFile(path) == [])
        }
    }

    @Test("given a SQLite file of another program (no Chorus meta), when it is opened, then it is refused as not a Chorus store and left unchanged")
    func foreignSQLiteIsRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/chorus.sqlite3"
            let other = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            try other.execute("CREATE TABLE meta(id INTEGER PRIMARY KEY, note TEXT); CREATE TABLE rows(x); INSERT INTO meta VALUES(1, 'hello')")
            other.close()
            let before = try readFile(path)
            #expect(throws: StorageError.notAChorusStore(path: path)) {
                try NodeStorage.open(directory: directory, identity: alpha)
            }
            #expect(try readFile(path) == before)
            #expect(directoryNames(directory) == ["chorus.sqlite3"])

            try writeFile(path, [])
            let bare = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE)
            try bare.execute("CREATE TABLE notes(text TEXT)")
            bare.close()
            #expect(throws: StorageError.notAChorusStore(path: path)) {
                try NodeStorage.open(directory: directory, identity: alpha)
            }
        }
    }

    @Test("given a Chorus store of an unknown format number, when it is opened, then it is refused as unsupported and left unchanged")
    func unknownFormatIsRefused() throws {
        try withTemporaryDirectory { directory in
            try NodeStorage.open(directory: directory, identity: alpha).close()
            let path = directory + "/chorus.sqlite3"
            let newer = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE)
            try newer.execute("UPDATE meta SET value = CAST('2' AS BLOB) WHERE name = 'format'")
            newer.close()
            let before = try readFile(path)
            #expect(throws: StorageError.unsupportedFormat(path: path, found: 2)) {
                try NodeStorage.open(directory: directory, identity: alpha)
            }
            #expect(try readFile(path) == before)
        }
    }

    @Test("given a store with a page overwritten in its middle, when it is opened, then it is refused as corrupt and left unchanged")
    func garbledPageIsRefused() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            try storage.commit((0..<3000).map { i in
                .put(keyspace: 1, key: b("key-\(i)"), value: [UInt8](repeating: UInt8(i % 251), count: 40))
            })
            storage.close()
            let path = directory + "/chorus.sqlite3"
            let pages = try readFile(path).count / 4096
            #expect(pages > 10)
            try writeFile(path, [UInt8](repeating: 0xA5, count: 200), at: (pages / 2) * 4096 + 8)
            let before = try readFile(path)
            do throws(StorageError) {
                _ = try NodeStorage.open(directory: directory, identity: alpha)
                Issue.record("a garbled store opened")
            } catch {
                guard case .corrupt(path, _) = error else {
                    Issue.record("expected .corrupt, got \(error)")
                    return
                }
                #expect(error.description.contains("move it away"))
            }
            #expect(try readFile(path) == before)
        }
    }

    @Test("given a closed store, when it is used, then each call throws closed")
    func closedStoreThrows() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            storage.close()
            storage.close()
            #expect(storage.isClosed)
            #expect(throws: StorageError.closed) { try storage.commit([.clear(keyspace: 1)]) }
            #expect(throws: StorageError.closed) { try storage.meta("x") }
            #expect(throws: StorageError.closed) { try storage.rowCount(keyspace: 1) }
            #expect(throws: StorageError.closed) { try storage.forEachRow(keyspace: 1) { _, _ in } }
        }
    }

    @Test("given a data_dir path through a regular file, when a store is opened there, then it fails as cannot open, naming the path")
    func unusableDirectoryCannotOpen() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/file", b("x"))
            do throws(StorageError) {
                _ = try NodeStorage.open(directory: directory + "/file/data", identity: alpha)
                Issue.record("a store opened under a regular file")
            } catch {
                guard case .cannotOpen = error else {
                    Issue.record("expected .cannotOpen, got \(error)")
                    return
                }
                #expect(error.description.contains(directory + "/file"))
            }
        }
    }

    @Test("given a body that throws, when forEachRow runs, then the error comes out unchanged and the store stays usable")
    func forEachRowRethrowsBodyErrors() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            defer { storage.close() }
            try storage.commit([.put(keyspace: 1, key: b("a"), value: b("1")), .put(keyspace: 1, key: b("b"), value: b("2"))])
            var seen = 0
            #expect(throws: TestFailure.self) {
                try storage.forEachRow(keyspace: 1) { _, _ in
                    seen += 1
                    throw TestFailure("stop")
                }
            }
            #expect(seen == 1)
            try storage.commit([.delete(keyspace: 1, key: b("a"))])
            #expect(try rows(of: storage, keyspace: 1).map(\.0) == [b("b")])
        }
    }

    @Test("given each refusal, then its message says the file was left untouched and what the operator can do")
    func refusalMessagesTellWhatToDo() {
        let refusals: [StorageError] = [
            .notAChorusStore(path: "/d/chorus.sqlite3"),
            .corrupt(path: "/d/chorus.sqlite3", reason: "quick_check: bad"),
            .foreign(path: "/d/chorus.sqlite3", expected: alpha, found: StorageIdentity(cluster: "beta", node: "n1")),
            .unsupportedFormat(path: "/d/chorus.sqlite3", found: 9),
        ]
        for refusal in refusals {
            #expect(refusal.description.contains("/d/chorus.sqlite3"))
            #expect(refusal.description.contains("left untouched"))
            #expect(refusal.description.contains("point data_dir elsewhere"))
        }
        #expect(StorageError.foreign(path: "/d", expected: alpha, found: StorageIdentity(cluster: "beta", node: "n1"))
            .description.contains("cluster \"beta\""))
    }
}
