// Emitter broadcast messages: an event for one member of an emitter group, and its ack.

/// An event as reckon_db's emitters carry it (its `#event{}` record), field for field.
public struct EmitterEvent: WireBody, Sendable, Equatable, Hashable {
    public var eventID: String
    public var eventType: String
    public var streamID: String
    public var version: UInt64
    /// The payload, opaque (reckon_db: a map or a binary; `dataContentType` says which encoding).
    public var data: [UInt8]
    /// Metadata, opaque (reckon_db: a map; `metadataContentType` says which encoding).
    public var metadata: [UInt8]
    /// nil when the event has no tags (reckon_db's `undefined`), which differs from `[]`.
    public var tags: [String]?
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// Microseconds since the Unix epoch.
    public var epochMicros: Int64
    public var dataContentType: String
    public var metadataContentType: String

    public init(eventID: String, eventType: String, streamID: String, version: UInt64 = 0, data: [UInt8] = [],
                metadata: [UInt8] = [], tags: [String]? = nil, timestamp: Int64 = 0, epochMicros: Int64 = 0,
                dataContentType: String = "application/json", metadataContentType: String = "application/json") {
        self.eventID = eventID
        self.eventType = eventType
        self.streamID = streamID
        self.version = version
        self.data = data
        self.metadata = metadata
        self.tags = tags
        self.timestamp = timestamp
        self.epochMicros = epochMicros
        self.dataContentType = dataContentType
        self.metadataContentType = metadataContentType
    }

    /// Tags in one event.
    public static let maxTags = 1024

    /// Checks the wire's limits without encoding: every string within `WireLimits.maxStringBytes`,
    /// at most `maxTags` tags, and the whole event, with `overhead` bytes of envelope, within a
    /// frame. An event that fails cannot be sent to another node.
    public func checkLimits(overhead: Int = 1024) throws(WireError) {
        // Fast path, taken by every broadcast: no tags, and the strings together within the
        // limit of one (so each is).
        let strings = eventID.utf8.count + eventType.utf8.count + streamID.utf8.count
            + dataContentType.utf8.count + metadataContentType.utf8.count
        if tags == nil, strings <= WireLimits.maxStringBytes,
           overhead + 8 + 8 + 8 + 1 + 5 * 2 + strings + 8 + data.count + metadata.count <= WireLimits.maxFramePayload {
            return
        }
        var total = overhead + 8 + 8 + 8 + 1
        func string(_ name: StaticString, _ text: String) throws(WireError) {
            let bytes = text.utf8.count
            guard bytes <= WireLimits.maxStringBytes else {
                throw .malformed("\(name) is \(bytes) bytes, over the limit of \(WireLimits.maxStringBytes)")
            }
            total += 2 + bytes
        }
        try string("event_id", eventID)
        try string("event_type", eventType)
        try string("stream_id", streamID)
        try string("data_content_type", dataContentType)
        try string("metadata_content_type", metadataContentType)
        if let tags {
            guard tags.count <= Self.maxTags else { throw .malformed("\(tags.count) tags, over the limit of \(Self.maxTags)") }
            for tag in tags {
                guard tag.utf8.count <= WireLimits.maxStringBytes else {
                    throw .malformed("a tag of \(tag.utf8.count) bytes, over the limit of \(WireLimits.maxStringBytes)")
                }
                total += 2 + tag.utf8.count
            }
        }
        total += 8 + data.count + metadata.count
        guard total <= WireLimits.maxFramePayload else {
            throw .oversized(length: total, limit: WireLimits.maxFramePayload)
        }
    }

    /// Bytes the event takes encoded (for an event within the limits, see `checkLimits`).
    public var encodedSize: Int {
        var size = 2 + eventID.utf8.count + 2 + eventType.utf8.count + 2 + streamID.utf8.count + 8
            + 4 + data.count + 4 + metadata.count + 1 + 8 + 8
            + 2 + dataContentType.utf8.count + 2 + metadataContentType.utf8.count
        if let tags { size += 4 + tags.reduce(0) { $0 + 2 + $1.utf8.count } }
        return size
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeString(eventID)
        writer.writeString(eventType)
        writer.writeString(streamID)
        writer.writeUInt64(version)
        writer.writeBytes(data)
        writer.writeBytes(metadata)
        writer.writeBool(tags != nil)
        if let tags { writer.writeArray(tags, maxCount: Self.maxTags) { $0.writeString($1) } }
        writer.writeInt64(timestamp)
        writer.writeInt64(epochMicros)
        writer.writeString(dataContentType)
        writer.writeString(metadataContentType)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        eventID = try reader.readString()
        eventType = try reader.readString()
        streamID = try reader.readString()
        version = try reader.readUInt64()
        data = try reader.readBytes()
        metadata = try reader.readBytes()
        tags = try reader.readBool()
            ? try reader.readArray(maxCount: Self.maxTags) { (r: inout WireReader) throws(WireError) in try r.readString() }
            : nil
        timestamp = try reader.readInt64()
        epochMicros = try reader.readInt64()
        dataContentType = try reader.readString(preferring: Self.commonContentTypes)
        metadataContentType = try reader.readString(preferring: Self.commonContentTypes)
    }

    /// Content types a decoded event shares instead of allocating its own copy.
    static let commonContentTypes = ["application/json", "application/octet-stream"]
}

/// An event for one member of an emitter group, sent by the node that chose it.
public struct EmitterDelivery: WireBody, Sendable, Equatable, Hashable {
    public var to: GroupMemberID
    /// The emitter group's name in the emitters scope: it keys the receiver's duplicate filter,
    /// so only an acknowledged delivery needs it; a plain broadcast sends it empty.
    public var group: String
    /// Non-zero when the sender waits for an `EmitterAck` with this id.
    public var ackID: UInt64
    public var event: EmitterEvent

    public init(to: GroupMemberID, group: String, ackID: UInt64, event: EmitterEvent) {
        self.to = to
        self.group = group
        self.ackID = ackID
        self.event = event
    }

    public func encode(to writer: inout WireWriter) {
        to.encode(to: &writer)
        writer.writeString(group, maxBytes: GroupsLimits.maxGroupName)
        writer.writeUInt64(ackID)
        event.encode(to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        to = try GroupMemberID(from: &reader)
        group = try reader.readString(maxBytes: GroupsLimits.maxGroupName)
        ackID = try reader.readUInt64()
        event = try EmitterEvent(from: &reader)
    }
}

/// Plain broadcast events for members of one node, many to a frame: what a node sends for
/// `broadcast`, which asks for no ack (an acknowledged one goes alone, as an `EmitterDelivery`).
public struct EmitterBatch: WireBody, Sendable, Equatable, Hashable {
    /// One event and the member of `node` it is for.
    public struct Item: Sendable, Equatable, Hashable {
        public var serial: UInt64
        public var event: EmitterEvent

        public init(serial: UInt64, event: EmitterEvent) {
            self.serial = serial
            self.event = event
        }

        /// Bytes the item takes in a batch.
        public var encodedSize: Int { 8 + event.encodedSize }
    }

    /// The node (run) whose members the events are for.
    public var node: NodeUID
    public var items: [Item]

    /// Items in one batch.
    public static let maxItems = 1 << 20

    public init(node: NodeUID, items: [Item]) {
        self.node = node
        self.items = items
    }

    /// Bytes of a batch without items.
    public static let emptySize = 8 + 4

    public func encode(to writer: inout WireWriter) {
        writer.writeUInt64(node.rawValue)
        writer.writeArray(items, maxCount: Self.maxItems) { writer, item in
            writer.writeUInt64(item.serial)
            item.event.encode(to: &writer)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        node = NodeUID(rawValue: try reader.readUInt64())
        items = try reader.readArray(maxCount: Self.maxItems) { (reader: inout WireReader) throws(WireError) in
            Item(serial: try reader.readUInt64(), event: try EmitterEvent(from: &reader))
        }
    }
}

/// The answer to an `EmitterDelivery` with an ack id: whether a member took the event (or had
/// taken it already: a duplicate is acknowledged, not delivered twice).
public struct EmitterAck: WireBody, Sendable, Equatable, Hashable {
    public var ackID: UInt64
    public var accepted: Bool

    public init(ackID: UInt64, accepted: Bool) {
        self.ackID = ackID
        self.accepted = accepted
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeUInt64(ackID)
        writer.writeBool(accepted)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        ackID = try reader.readUInt64()
        accepted = try reader.readBool()
    }
}
