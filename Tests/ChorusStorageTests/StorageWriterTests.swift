@testable import ChorusStorage
import CSQLite
import Dispatch
import Testing

private let alpha = StorageIdentity(cluster: "alpha", node: "n1")

/// A connection of its own to a store, used by completions on the writer's thread (one at a time)
/// to check that their rows are committed, as another reader of the file would see them.
private final class Reader: @unchecked Sendable {
    // Safety of @unchecked Sendable: created on the test's thread before the writer has work, then
    // used only by completions, which the writer's one thread runs one after another.
    private let count: SQLiteStatement

    init(path: String) throws {
        let connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
        count = try connection.prepare("SELECT count(*) FROM rows WHERE keyspace = 1 AND key = ?1")
    }

    func contains(_ key: [UInt8]) throws -> Bool {
        defer { count.reset() }
        try count.bind(key, at: 1)
        try count.step()
        return count.int64(at: 0) == 1
    }
}

@Suite("StorageWriter: group commit on a thread of its own", .timeLimit(.minutes(1)))
struct StorageWriterTests {
    @Test("given 100 submissions from 4 threads while the writer is busy, then each completion runs once, in submission order, after its rows are committed, and they share one transaction")
    func concurrentSubmissionsAreGroupCommitted() throws {
        try withTemporaryDirectory { directory in
            let writer = StorageWriter(storage: try NodeStorage.open(directory: directory, identity: alpha))
            let reader = try Reader(path: directory + "/chorus.sqlite3")
            let submitted = Locked<[Int]>([])
            let completed = Locked<[Int]>([])
            let failures = Locked<[String]>([])

            // The first submission's completion holds the writer's thread until all 100 are queued.
            let gateEntered = DispatchSemaphore(value: 0)
            let allQueued = DispatchSemaphore(value: 0)
            writer.submit([.put(keyspace: 2, key: b("gate"), value: [])]) { _ in
                gateEntered.signal()
                allQueued.wait()
            }
            gateEntered.wait()
            DispatchQueue.concurrentPerform(iterations: 4) { thread in
                for i in 0..<25 {
                    let id = thread * 25 + i
                    let key = b("key-\(id)")
                    // Under the test's lock, so that `submitted` records the order submit saw.
                    submitted.withLock { order in
                        order.append(id)
                        writer.submit([.put(keyspace: 1, key: key, value: b("\(id)")), .put(keyspace: 3, key: key, value: [])]) { result in
                            completed.withLock { $0.append(id) }
                            do {
                                try result.get()
                                if try !reader.contains(key) { failures.withLock { $0.append("\(id): not committed at completion") } }
                            } catch {
                                failures.withLock { $0.append("\(id): \(error)") }
                            }
                        }
                    }
                }
            }
            allQueued.signal()
            writer.flush()

            #expect(failures.withLock { $0 } == [])
            #expect(completed.withLock { $0 } == submitted.withLock { $0 })
            #expect(Set(completed.withLock { $0 }).count == 100)
            #expect(writer.committedTransactions == 2)
            writer.shutdown()

            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            defer { storage.close() }
            #expect(try storage.rowCount(keyspace: 1) == 100)
            #expect(try storage.rowCount(keyspace: 3) == 100)
        }
    }

    @Test("given a transaction that fails (disk full), then every completion of its group gets the error and a later submission commits once space is back")
    func failedTransactionFailsItsGroupOnly() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            let connection = storage.connection!
            try connection.execute("PRAGMA max_page_count = 8")
            // Used below on the writer's thread only (from a completion), as ownership requires.
            nonisolated(unsafe) let unsafeConnection = connection
            let writer = StorageWriter(storage: storage)
            let results = Locked<[String]>([])
            let allQueued = DispatchSemaphore(value: 0)
            let big = [UInt8](repeating: 1, count: 64 * 1024)

            let gateEntered = DispatchSemaphore(value: 0)
            writer.submit([]) { _ in
                gateEntered.signal()
                allQueued.wait()
            }
            gateEntered.wait()
            writer.submit([.put(keyspace: 1, key: b("small"), value: b("1"))]) { result in
                results.withLock { $0.append("small: \(result.isSuccess)") }
            }
            writer.submit([.put(keyspace: 1, key: b("big"), value: big)]) { result in
                results.withLock { $0.append("big: \((try? result.get()) == nil ? "full" : "ok")") }
                // The disk has room again before the next transaction.
                try? unsafeConnection.execute("PRAGMA max_page_count = 1000000")
            }
            allQueued.signal()
            writer.flush()
            writer.submit([.put(keyspace: 1, key: b("later"), value: big)]) { result in
                results.withLock { $0.append("later: \(result.isSuccess)") }
            }
            writer.flush()
            #expect(results.withLock { $0 } == ["small: false", "big: full", "later: true"])
            #expect(writer.failedTransactions == 1)
            #expect(writer.committedTransactions == 1)
            writer.shutdown()

            let reopened = try NodeStorage.open(directory: directory, identity: alpha)
            defer { reopened.close() }
            #expect(try rows(of: reopened, keyspace: 1).map(\.0) == [b("later")])
        }
    }

    @Test("given pending submissions, when the writer shuts down, then they are committed, the store is closed, and later submissions fail as closed")
    func shutdownCommitsPendingWrites() throws {
        try withTemporaryDirectory { directory in
            let writer = StorageWriter(storage: try NodeStorage.open(directory: directory, identity: alpha))
            let results = Locked<[Bool]>([])
            for i in 0..<10 {
                writer.submit([.put(keyspace: 1, key: b("k\(i)"), value: b("v"))]) { result in
                    results.withLock { $0.append(result.isSuccess) }
                }
            }
            writer.shutdown()
            writer.shutdown()
            #expect(results.withLock { $0 } == Array(repeating: true, count: 10))
            let late = Locked<Result<Void, StorageError>?>(nil)
            writer.submit([.clear(keyspace: 1)]) { result in late.withLock { $0 = result } }
            #expect(late.withLock { $0.map { (try? $0.get()) == nil } } == true)

            let storage = try NodeStorage.open(directory: directory, identity: alpha)
            defer { storage.close() }
            #expect(try storage.rowCount(keyspace: 1) == 10)
        }
    }

    @Test("given submissions, when flush is awaited, then it returns after their completions ran")
    func asyncFlushWaitsForEarlierSubmissions() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let writer = StorageWriter(storage: try NodeStorage.open(directory: directory, identity: alpha))
        let done = Locked(0)
        for i in 0..<20 {
            writer.submit([.put(keyspace: 1, key: b("k\(i)"), value: b("v"))]) { _ in done.withLock { $0 += 1 } }
        }
        await writer.flush()
        #expect(done.withLock { $0 } == 20)
        writer.shutdown()
        await writer.flush()
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
