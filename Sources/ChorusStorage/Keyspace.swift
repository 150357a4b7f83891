/// The number of a keyspace: one table of rows among the few a node keeps (one per replicated
/// store, say), chosen by the caller.
///
/// Every keyspace lives in the one table
/// `rows(keyspace INTEGER, key BLOB, value BLOB, PRIMARY KEY(keyspace, key)) WITHOUT ROWID`,
/// so a keyspace's rows are stored together, in key order, and read back in one range scan.
/// The storage gives no meaning to the numbers and defines none: callers pass their own.
public typealias Keyspace = UInt8
