import ChorusReplication
import ChorusWire

/// A key of the replicated stores: one enum for every store, so they share one replica.
///
/// The encoding is a one-byte tag per case (stable: never reused, never renumbered), then the
/// case's fields: strings as `WireWriter.writeString` (at most 1024 bytes of UTF-8), enums as their
/// one-byte raw value, a handle as its text (parsed strictly when decoded). It is canonical:
/// decoding then encoding gives back the same bytes.
///
/// Memory layout goal: an epoch key must cost well under 300 bytes in the replica's
/// `[StoreKey: CausalEntries<StoreValue>]`, beyond its strings' text (strings of at most 15 bytes of
/// UTF-8 are stored inline; longer ones in their own buffer, text plus a 32-byte header). So the
/// epoch's three strings and mode stay inline (49 bytes, stride 56; boxing them would add a pointer
/// and a heap object of about 80 bytes to every epoch key), no case is bigger, and a slot of the map
/// (key 56 + entries 48 bytes) costs 104 / 0.75 ≈ 139 bytes at the map's fullest, about 185 on
/// average, 277 just after it doubled. `StoreLayoutTests` holds these sizes.
public enum StoreKey: Hashable, Sendable, CustomStringConvertible {
    /// The client's epoch store exists (`EpochStore.initClient`); holds `.marker`.
    case epochClient(client: String)
    /// The epoch of one producer on one topic in one access mode; holds `.epoch`.
    case epoch(EpochKey)
    /// One field of a shape of a stack; holds `.shape`, `.xmin`, `.offset` or `.marker` (see
    /// `ShapeField`).
    case shape(stack: String, handle: ShapeHandle, field: ShapeField)
    /// When an entity was last processed by the process status `name`; holds `.timestamp`.
    case process(name: String, entity: String)

    /// The one-byte tag of each case.
    enum Tag: UInt8 {
        case epochClient = 1
        case epoch = 2
        case shape = 3
        case process = 4
    }

    public var description: String {
        switch self {
        case let .epochClient(client): "epochClient(\(client))"
        case let .epoch(key): "epoch(\(key.client), \(key.topic), \(key.producer), \(key.mode))"
        case let .shape(stack, handle, field): "shape(\(stack), \(handle), \(field))"
        case let .process(name, entity): "process(\(name), \(entity))"
        }
    }
}

/// The key of one stored epoch: which client, topic, producer and access mode (the seed's table per
/// client, keyed by `{topic, producer, access_mode}`).
public struct EpochKey: Hashable, Sendable {
    public var client: String
    public var topic: String
    public var producer: String
    public var mode: EpochAccessMode

    public init(client: String, topic: String, producer: String, mode: EpochAccessMode) {
        self.client = client
        self.topic = topic
        self.producer = producer
        self.mode = mode
    }
}

/// The fields of a shape, each its own key, so that each has its own rule for concurrent writes.
/// The raw value is the field's one-byte tag.
public enum ShapeField: UInt8, CaseIterable, Hashable, Sendable {
    /// The shape itself (`.shape`); a shape is in the store exactly while this field is.
    case definition = 1
    /// The xmin of the shape's snapshot (`.xmin`).
    case snapshotXmin = 2
    /// The latest offset of the shape's log (`.offset`).
    case latestOffset = 3
    /// The snapshot has started (`.marker`).
    case snapshotStarted = 4
}

extension StoreKey: WireBody {
    public func encode(to writer: inout WireWriter) {
        switch self {
        case let .epochClient(client):
            writer.writeEnum(Tag.epochClient)
            writer.writeString(client)
        case let .epoch(key):
            writer.writeEnum(Tag.epoch)
            writer.writeString(key.client)
            writer.writeString(key.topic)
            writer.writeString(key.producer)
            writer.writeEnum(key.mode)
        case let .shape(stack, handle, field):
            writer.writeEnum(Tag.shape)
            writer.writeString(stack)
            writer.writeString(handle.text)
            writer.writeEnum(field)
        case let .process(name, entity):
            writer.writeEnum(Tag.process)
            writer.writeString(name)
            writer.writeString(entity)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        switch try reader.readEnum(Tag.self) {
        case .epochClient:
            self = .epochClient(client: try reader.readString())
        case .epoch:
            self = .epoch(EpochKey(client: try reader.readString(), topic: try reader.readString(),
                                   producer: try reader.readString(), mode: try reader.readEnum()))
        case .shape:
            let stack = try reader.readString()
            let text = try reader.readString()
            guard let handle = ShapeHandle(text) else { throw .malformed("\"\(text)\" is not a shape handle") }
            self = .shape(stack: stack, handle: handle, field: try reader.readEnum())
        case .process:
            self = .process(name: try reader.readString(), entity: try reader.readString())
        }
    }
}

extension StoreKey {
    /// Refuses a key with a name over the wire's string limit (what `encode` would record), without
    /// encoding it: every write checks its key.
    func checked() throws(StoreError) {
        let names: [String] = switch self {
        case let .epochClient(client): [client]
        case let .epoch(key): [key.client, key.topic, key.producer]
        case let .shape(stack, handle, _): [stack, handle.text]
        case let .process(name, entity): [name, entity]
        }
        for name in names where name.utf8.count > WireLimits.maxStringBytes {
            throw .invalidArgument("\(self) cannot be stored: a name of \(name.utf8.count) bytes is over the limit of \(WireLimits.maxStringBytes)")
        }
    }
}

extension WireBody {
    /// Refuses a key or value that could not travel (a string over its limit): the store rules
    /// check what they write, so that a replica never holds what it cannot send.
    func checked() throws(StoreError) {
        do throws(WireError) {
            try validate()
        } catch {
            throw .invalidArgument("\(self) cannot be stored: \(error)")
        }
    }
}
