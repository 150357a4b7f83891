import ChorusWire

/// What a replica has seen, sent to a peer: when a link comes up (`wantsReply`, so both sides
/// learn), then every digest interval. The receiver sends back what the sender lacks, and forgets
/// logged deltas every live peer has seen.
public struct ReplicaDigest: Equatable, Sendable, WireBody {
    public var context: CausalContext
    /// The sender wants the receiver's digest in return: the first exchange on a link, and a
    /// replica asking a peer that has not acknowledged a settled write.
    public var wantsReply: Bool

    public init(context: CausalContext, wantsReply: Bool) {
        self.context = context
        self.wantsReply = wantsReply
    }

    public func encode(to writer: inout WireWriter) {
        context.encode(to: &writer)
        writer.writeBool(wantsReply)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        self.init(context: try CausalContext(from: &reader), wantsReply: try reader.readBool())
    }
}

/// Deltas for a peer: fresh writes pushed as they happen, or logged ones it missed.
public struct ReplicaDeltas<Key: ReplicatedKey, Value: ReplicatedValue>: Equatable, Sendable, WireBody {
    /// The most deltas one message carries on the wire (the frame size limit binds first).
    public static var maxDeltas: Int { 1 << 20 }

    public var deltas: [KeyDelta<Key, Value>]

    public init(_ deltas: [KeyDelta<Key, Value>]) {
        self.deltas = deltas
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeArray(deltas, maxCount: Self.maxDeltas)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        self.init(try reader.readArray(of: KeyDelta<Key, Value>.self, maxCount: Self.maxDeltas))
    }
}

/// One part of a replica's whole state, for a peer behind what the logs still hold.
///
/// A snapshot is parts `0..<n` with the same `id`; the last (`n - 1`) carries the sender's causal
/// context. The receiver gathers them in any order and joins the whole only once it holds every
/// part: a partial snapshot joined would drop the receiver's entries that the missing parts hold.
/// A part of another id starts over.
public struct ReplicaSnapshotPart<Key: ReplicatedKey, Value: ReplicatedValue>: Equatable, Sendable, WireBody {
    public static var maxKeys: Int { 1 << 20 }

    public var id: UInt64
    public var index: UInt32
    public var keys: [(key: Key, entries: CausalEntries<Value>)]
    /// In the last part only: everything the sender had seen when it took the snapshot.
    public var context: CausalContext?

    public init(id: UInt64, index: UInt32, keys: [(key: Key, entries: CausalEntries<Value>)], context: CausalContext?) {
        self.id = id
        self.index = index
        self.keys = keys
        self.context = context
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.id == rhs.id && lhs.index == rhs.index && lhs.context == rhs.context && lhs.keys.count == rhs.keys.count
            && zip(lhs.keys, rhs.keys).allSatisfy { $0.key == $1.key && $0.entries == $1.entries }
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeUInt64(id)
        writer.writeUInt32(index)
        writer.writeArray(keys, maxCount: Self.maxKeys) { writer, item in
            item.key.encode(to: &writer)
            item.entries.encode(to: &writer)
        }
        if let context {
            writer.writeBool(true)
            context.encode(to: &writer)
        } else {
            writer.writeBool(false)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let id = try reader.readUInt64()
        let index = try reader.readUInt32()
        let keys = try reader.readArray(maxCount: Self.maxKeys) { (reader: inout WireReader) throws(WireError) in
            (key: try Key(from: &reader), entries: try CausalEntries<Value>(from: &reader))
        }
        let context: CausalContext? = try reader.readBool() ? try CausalContext(from: &reader) : nil
        self.init(id: id, index: index, keys: keys, context: context)
    }
}

/// Cuts a frozen replica into snapshot parts of about `partBytes` each, lazily: the shell asks for
/// the next part when the link has room, so a snapshot of millions of keys never sits whole in a
/// send queue. The replica is a copy taken at one instant, so the parts are consistent.
public struct ReplicaSnapshotWriter<Key: ReplicatedKey, Value: ReplicatedValue>: Sendable {
    public let id: UInt64
    private let state: ReplicaState<Key, Value>
    private var index: Dictionary<Key, CausalEntries<Value>>.Index
    private let partBytes: Int
    public private(set) var isFinished = false
    private var partsWritten: UInt32 = 0

    public init(state: ReplicaState<Key, Value>, id: UInt64, partBytes: Int = 256 << 10) {
        self.state = state
        self.id = id
        self.index = state.entries.startIndex
        self.partBytes = partBytes
    }

    /// The next part, encoded as a frame body; nil once the last part was returned.
    public mutating func nextPart() -> [UInt8]? {
        guard !isFinished else { return nil }
        var writer = WireWriter(reservingCapacity: partBytes + 4096)
        writer.writeUInt64(id)
        writer.writeUInt32(partsWritten)
        partsWritten += 1
        let countAt = writer.count
        writer.writeUInt32(0)
        var count: UInt32 = 0
        while index != state.entries.endIndex, writer.count < partBytes {
            let (key, entries) = state.entries[index]
            key.encode(to: &writer)
            entries.encode(to: &writer)
            count += 1
            state.entries.formIndex(after: &index)
        }
        writer.setUInt32(count, at: countAt)
        if index == state.entries.endIndex {
            writer.writeBool(true)
            state.context.encode(to: &writer)
            isFinished = true
        } else {
            writer.writeBool(false)
        }
        return writer.finish()
    }
}
