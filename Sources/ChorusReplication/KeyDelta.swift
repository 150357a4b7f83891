import ChorusWire

/// One write to one key, as it travels to peers and waits in the delta log.
///
/// The write `dot` replaced the entries `removed` (every entry the key held where it was made) with
/// `value`, or with nothing when it removed the key. As a piece of state it holds the entry
/// `(dot, value)` and has seen `removed` and `dot`; applying it is a join, so deltas may arrive in
/// any order, twice, or folded into a snapshot.
public struct KeyDelta<Key: ReplicatedKey, Value: ReplicatedValue>: Equatable, Sendable {
    public var key: Key
    public var dot: Dot
    public var value: Value?
    public var removed: [Dot]

    public init(key: Key, dot: Dot, value: Value?, removed: [Dot]) {
        self.key = key
        self.dot = dot
        self.value = value
        self.removed = removed
    }
}

extension KeyDelta: WireBody {
    public func encode(to writer: inout WireWriter) {
        key.encode(to: &writer)
        dot.encode(to: &writer)
        if let value {
            writer.writeBool(true)
            value.encode(to: &writer)
        } else {
            writer.writeBool(false)
        }
        writer.writeArray(removed, maxCount: CausalEntries<Value>.maxEntries)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let key = try Key(from: &reader)
        let dot = try Dot(from: &reader)
        let value: Value? = try reader.readBool() ? try Value(from: &reader) : nil
        let removed = try reader.readArray(of: Dot.self, maxCount: CausalEntries<Value>.maxEntries)
        guard !removed.contains(dot) else { throw .malformed("a write that replaces itself") }
        self.init(key: key, dot: dot, value: value, removed: removed)
    }
}
