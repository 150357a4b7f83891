/// A replica of one replicated store: each key's entries and the writes seen (a causal map).
///
/// Rules (the join of a causal map, as in delta-state CRDTs):
/// - A **write** here replaces every entry the key holds with its own (or with none, to remove the
///   key): concurrent writes on other nodes did not see each other, so both their entries stay until
///   a later write replaces them.
/// - **Join** of two replicas: an entry stays if both hold it, or if the other has not seen its dot;
///   an entry of the other comes in if this one has not seen its dot; the seen sets unite. It is
///   commutative, associative and idempotent, so replicas that received the same writes are equal,
///   whatever the order, loss (later repaired) or duplication of the messages that carried them.
/// - Invariant: every entry's dot is seen.
public struct ReplicaState<Key: ReplicatedKey, Value: ReplicatedValue>: Equatable, Sendable {
    public private(set) var context = CausalContext()
    public private(set) var entries: [Key: CausalEntries<Value>] = [:]

    public init() {}

    public subscript(key: Key) -> CausalEntries<Value>? { entries[key] }

    public var keyCount: Int { entries.count }

    /// A write made here with the new dot `dot`: replaces the key's entries with `value` (none:
    /// removes the key). Returns the delta for the peers.
    public mutating func write(_ key: Key, _ value: Value?, dot: Dot) -> KeyDelta<Key, Value> {
        precondition(!context.contains(dot), "a write's dot is new")
        // The same as applying the delta, in one lookup of the key: every entry it held is seen.
        let replaced = if let value {
            entries.updateValue(CausalEntries(CausalEntry(dot: dot, value: value)), forKey: key)
        } else {
            entries.removeValue(forKey: key)
        }
        context.insert(dot)
        return KeyDelta(key: key, dot: dot, value: value, removed: replaced?.dots ?? [])
    }

    /// What applying a delta did.
    public struct Outcome: Equatable, Sendable {
        /// Some dot of the delta was not seen before: it is worth logging and passing on.
        public var isNew: Bool
        /// The key's entries changed.
        public var changed: Bool
        /// The key's entries after the delta (nil: the key holds none).
        public var entries: CausalEntries<Value>?

        public init(isNew: Bool, changed: Bool, entries: CausalEntries<Value>?) {
            self.isNew = isNew
            self.changed = changed
            self.entries = entries
        }
    }

    /// Joins one delta.
    @discardableResult
    public mutating func apply(_ delta: KeyDelta<Key, Value>) -> Outcome {
        // The dot is marked seen first: whether it was new says whether its value comes in (one
        // lookup of its origin for both).
        var isNew = context.insert(delta.dot)
        let adds = delta.value != nil && isNew
        var changed = false
        var after: CausalEntries<Value>?
        // One lookup of the key: its entries are changed in place, inserted or removed through
        // the map's optional slot.
        if adds || !delta.removed.isEmpty {
            Self.update(&entries[delta.key]) { slot in
                if !delta.removed.isEmpty, let current = slot {
                    let kept = current.filter { !delta.removed.contains($0.dot) }
                    if kept?.count != current.count {
                        slot = kept
                        changed = true
                    }
                }
                if adds, let value = delta.value {
                    let entry = CausalEntry(dot: delta.dot, value: value)
                    if slot == nil { slot = CausalEntries(entry) } else { slot!.append(entry) }
                    changed = true
                }
                after = slot
            }
        } else {
            after = entries[delta.key]
        }
        for dot in delta.removed where context.insert(dot) { isNew = true }
        return Outcome(isNew: isNew, changed: changed, entries: after)
    }

    /// Runs `body` on a map slot in place (the map's `_modify` does one lookup for both the read
    /// and the write).
    @inline(__always)
    private static func update(_ slot: inout CausalEntries<Value>?, _ body: (inout CausalEntries<Value>?) -> Void) {
        body(&slot)
    }

    /// Joins a whole replica (a snapshot). Returns the keys whose entries changed.
    @discardableResult
    public mutating func join(_ other: ReplicaState) -> Set<Key> {
        var changedKeys: Set<Key> = []
        // This replica's entries the other has seen and no longer holds go.
        for (key, mine) in entries {
            let theirs = other.entries[key]
            let kept = mine.filter { theirs?.contains($0.dot) ?? false || !other.context.contains($0.dot) }
            if kept != mine {
                entries[key] = kept
                changedKeys.insert(key)
            }
        }
        // The other's entries this replica has not seen come in.
        for (key, theirs) in other.entries {
            for entry in theirs.all where !context.contains(entry.dot) {
                if entries[key] == nil { entries[key] = CausalEntries(entry) } else { entries[key]!.append(entry) }
                changedKeys.insert(key)
            }
        }
        context.formUnion(other.context)
        return changedKeys
    }

    // MARK: Restoring from disk and from snapshots

    /// Makes room for `count` keys at once (a restore knows how many rows it reads), so that the
    /// map is not rebuilt again and again as it grows, leaving its old tables behind as garbage.
    public mutating func reserveCapacity(_ count: Int) {
        entries.reserveCapacity(count)
    }

    /// Puts back a key's entries as they were saved (their dots must be in the restored context).
    public mutating func restore(_ key: Key, _ saved: CausalEntries<Value>?) {
        entries[key] = saved
    }

    /// Puts back the context as it was saved, or adds a snapshot's.
    public mutating func restore(context saved: CausalContext) {
        context.formUnion(saved)
    }

    /// Adds one entry of a snapshot being received, marking its dot seen.
    mutating func absorb(_ key: Key, _ entry: CausalEntry<Value>) {
        guard context.insert(entry.dot) else { return }
        if entries[key] == nil { entries[key] = CausalEntries(entry) } else { entries[key]!.append(entry) }
    }
}
