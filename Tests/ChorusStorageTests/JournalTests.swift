@testable import ChorusStorage
import ChorusWire
import Testing

/// Text encoded as its bytes alone, so that the journal's keys and values read as the text.
struct RawText: WireBody {
    var text: String
    init(_ text: String) { self.text = text }
    func encode(to writer: inout WireWriter) { writer.writeRawBytes(text.utf8) }
    init(from reader: inout WireReader) throws(WireError) { text = String(decoding: try reader.readRemainingBytes(), as: UTF8.self) }
}

/// The journal: records of changes appended in order, replayed at start, folded into rows.
struct JournalTests {
    static let identity = StorageIdentity(cluster: "journal", node: "n1")

    static func record(_ changes: [(String, String?)]) -> JournalRecord {
        JournalRecord(changes.map { (RawText($0.0), $0.1.map(RawText.init)) })
    }

    static func changes(of storage: NodeStorage, keyspace: Keyspace) throws -> [String] {
        var seen: [String] = []
        try storage.forEachJournalChange(keyspace: keyspace) { key, value in
            seen.append(String(decoding: key, as: UTF8.self) + "=" + (value.map { String(decoding: $0, as: UTF8.self) } ?? "-"))
        }
        return seen
    }

    @Test("given records appended to two keyspaces, when the store is reopened, then each keyspace's changes come back in order, removals included")
    func replayInOrder() throws {
        try withTemporaryDirectory { directory in
            var storage = try NodeStorage.open(directory: directory, identity: Self.identity)
            try storage.commit([.journal(keyspace: 1, record: Self.record([("a", "1"), ("b", "2")]))])
            try storage.commit([.journal(keyspace: 2, record: Self.record([("x", "9")])),
                                .journal(keyspace: 1, record: Self.record([("a", nil), ("c", "3")]))])
            storage.close()
            storage = try NodeStorage.open(directory: directory, identity: Self.identity)
            #expect(try Self.changes(of: storage, keyspace: 1) == ["a=1", "b=2", "a=-", "c=3"])
            #expect(try Self.changes(of: storage, keyspace: 2) == ["x=9"])
            storage.close()
        }
    }

    @Test("given rows and a journal that changes and removes some of them, when the journal is folded, then the rows hold each key's last change, in key order, and the journal is empty")
    func foldKeepsTheLastChange() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: Self.identity)
            try storage.commit([.put(keyspace: 1, key: b("a"), value: b("old")), .put(keyspace: 1, key: b("z"), value: b("keep"))])
            try storage.commit([.journal(keyspace: 1, record: Self.record([("c", "1"), ("a", "2"), ("c", "3")])),
                                .journal(keyspace: 1, record: Self.record([("b", "4"), ("c", nil)])),
                                .journal(keyspace: 2, record: Self.record([("other", "5")]))])
            // When
            try storage.commit([.foldJournal(keyspace: 1)])
            // Then
            #expect(try rows(of: storage, keyspace: 1).map { String(decoding: $0.0, as: UTF8.self) + "=" + String(decoding: $0.1, as: UTF8.self) }
                    == ["a=2", "b=4", "z=keep"])
            #expect(try Self.changes(of: storage, keyspace: 1).isEmpty)
            #expect(try Self.changes(of: storage, keyspace: 2) == ["other=5"], "another keyspace's journal stays")
            storage.close()
        }
    }

    @Test("given a journal record cut short on disk, then replaying it reports the store corrupt instead of skipping it")
    func truncatedRecordIsCorrupt() throws {
        try withTemporaryDirectory { directory in
            let storage = try NodeStorage.open(directory: directory, identity: Self.identity)
            // A key said to be 10 bytes long, then only one byte.
            try storage.connection?.execute("INSERT INTO journal(keyspace, body) VALUES(1, X'0000000A6B')")
            #expect(throws: StorageError.self) { try Self.changes(of: storage, keyspace: 1) }
            storage.close()
        }
    }
}
