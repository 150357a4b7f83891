/// One change to a store. A batch of them (`NodeStorage.commit`, `StorageWriter.submit`) is applied
/// in order, in one transaction: all of it or none.
public enum StorageWrite: Sendable, Equatable {
    /// Sets `key` in `keyspace` to `value`, whether or not it was there.
    case put(keyspace: Keyspace, key: [UInt8], value: [UInt8])
    /// Removes `key` from `keyspace`; nothing happens if it is not there.
    case delete(keyspace: Keyspace, key: [UInt8])
    /// Sets the metadata blob `name` (a replication core's own state: a version vector, an epoch).
    /// The names `NodeStorage.reservedMetaNames` belong to the storage and may not be written.
    case meta(name: String, value: [UInt8])
    /// Removes every row of `keyspace` (before a full resync, say).
    case clear(keyspace: Keyspace)
    /// Appends a record of changes to the journal of `keyspace`: kept in order, replayed over the
    /// rows at start (`forEachJournalChange`). Appending costs one sequential insert however many
    /// changes the record holds, where `put` costs a B-tree update per key.
    case journal(keyspace: Keyspace, record: JournalRecord)
    /// Folds the journal of `keyspace` into its rows: the last change of each key, written in key
    /// order, then the journal emptied; all in the batch's transaction.
    case foldJournal(keyspace: Keyspace)
}
