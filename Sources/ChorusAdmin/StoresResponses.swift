import Chorus

// The answers of the stores routes. An `lsn` is the text form of a write's LSN
// (`<16 hex digits>/<hex sequence>`), which any node can await (`POST /v1/lsn/{tracker}/await`);
// it is null when nothing had to be written. Each answer can be read back by a client
// (`init?(json:)`, nil when a field is missing or of the wrong type).

/// `{"lsn": "..." | null}`: a write's LSN, null when nothing had to be written.
public struct LSNResponse: Sendable, Equatable, JSONRepresentable {
    public var lsn: String?

    public init(_ lsn: LSN?) { self.lsn = lsn?.description }

    public var json: JSONValue { ["lsn": lsn.map(JSONValue.string) ?? .null] }

    public init?(json: JSONValue) {
        guard let lsn = json.optionalString("lsn") else { return nil }
        self.lsn = lsn
    }
}

/// `PUT /v1/epochs/{client}/{topic}/{producer}/{access_mode}`: the LSN of the write that stored
/// the epoch now held (this put's, or the earlier one that stored an epoch at least as high) and
/// that epoch, which is higher than the one put when a higher one was there.
public struct EpochPutResponse: Sendable, Equatable, JSONRepresentable {
    public var lsn: String
    public var epoch: UInt64

    public init(lsn: LSN, epoch: UInt64) {
        self.lsn = lsn.description
        self.epoch = epoch
    }

    public var json: JSONValue { ["lsn": .string(lsn), "epoch": .unsigned(epoch)] }

    public init?(json: JSONValue) {
        guard let lsn = json["lsn"]?.stringValue, let epoch = json["epoch"]?.exactUInt64 else { return nil }
        self.lsn = lsn
        self.epoch = epoch
    }
}

/// `GET /v1/epochs/{client}/{topic}/{producer}/{access_mode}`: `{"epoch": N}`.
public struct EpochResponse: Sendable, Equatable, JSONRepresentable {
    public var epoch: UInt64

    public init(epoch: UInt64) { self.epoch = epoch }

    public var json: JSONValue { ["epoch": .unsigned(epoch)] }

    public init?(json: JSONValue) {
        guard let epoch = json["epoch"]?.exactUInt64 else { return nil }
        self.epoch = epoch
    }
}

/// A shape as the API shows it: the JSON object its definition is. A definition that is not a
/// JSON object (a shape added through the Swift API with other text) is shown as that text.
enum ShapeJSON {
    static func value(_ shape: Shape) -> JSONValue {
        if let parsed = try? JSONParser.parse(shape.definition), case .object = parsed { return parsed }
        return .string(shape.definition)
    }
}

/// `POST /v1/shapes/{stack}`: the shape's handle, and the LSN of its add (null when it was there).
public struct ShapeAddResponse: Sendable, Equatable, JSONRepresentable {
    public var handle: String
    public var lsn: String?

    public init(handle: ShapeHandle, lsn: LSN?) {
        self.handle = handle.text
        self.lsn = lsn?.description
    }

    public var json: JSONValue { ["handle": .string(handle), "lsn": lsn.map(JSONValue.string) ?? .null] }

    public init?(json: JSONValue) {
        guard let handle = json["handle"]?.stringValue, let lsn = json.optionalString("lsn") else { return nil }
        self.handle = handle
        self.lsn = lsn
    }
}

/// One shape of `GET /v1/shapes/{stack}`.
public struct ShapeSummary: Sendable, Equatable, JSONRepresentable {
    public var handle: String
    public var shape: JSONValue
    public var latestOffset: String

    public init(handle: ShapeHandle, shape: Shape, latestOffset: LogOffset) {
        self.handle = handle.text
        self.shape = ShapeJSON.value(shape)
        self.latestOffset = latestOffset.description
    }

    public var json: JSONValue { ["handle": .string(handle), "shape": shape, "latest_offset": .string(latestOffset)] }

    public init?(json: JSONValue) {
        guard let handle = json["handle"]?.stringValue, let shape = json["shape"],
              let latestOffset = json["latest_offset"]?.stringValue else { return nil }
        self.handle = handle
        self.shape = shape
        self.latestOffset = latestOffset
    }
}

/// `GET /v1/shapes/{stack}`: `{"shapes": [...]}`, sorted by handle.
public struct ShapeListResponse: Sendable, Equatable, JSONRepresentable {
    public var shapes: [ShapeSummary]

    public init(shapes: [ShapeSummary]) { self.shapes = shapes }

    public var json: JSONValue { ["shapes": shapes.json] }

    public init?(json: JSONValue) {
        guard let elements = json["shapes"]?.arrayValue else { return nil }
        var shapes: [ShapeSummary] = []
        for element in elements {
            guard let shape = ShapeSummary(json: element) else { return nil }
            shapes.append(shape)
        }
        self.shapes = shapes
    }
}

/// `GET /v1/shapes/{stack}/{handle}`: the shape and its fields; `snapshot_xmin` is null while unset.
public struct ShapeResponse: Sendable, Equatable, JSONRepresentable {
    public var handle: String
    public var shape: JSONValue
    public var latestOffset: String
    public var snapshotXmin: Int64?
    public var snapshotStarted: Bool

    public init(handle: ShapeHandle, shape: Shape, latestOffset: LogOffset, snapshotXmin: Int64?, snapshotStarted: Bool) {
        self.handle = handle.text
        self.shape = ShapeJSON.value(shape)
        self.latestOffset = latestOffset.description
        self.snapshotXmin = snapshotXmin
        self.snapshotStarted = snapshotStarted
    }

    public var json: JSONValue {
        ["handle": .string(handle), "shape": shape, "latest_offset": .string(latestOffset),
         "snapshot_xmin": snapshotXmin.map(JSONValue.integer) ?? .null, "snapshot_started": .bool(snapshotStarted)]
    }

    public init?(json: JSONValue) {
        guard let handle = json["handle"]?.stringValue, let shape = json["shape"],
              let latestOffset = json["latest_offset"]?.stringValue,
              case .bool(let started)? = json["snapshot_started"] else { return nil }
        switch json["snapshot_xmin"] {
        case .null?: snapshotXmin = nil
        case .integer(let xmin)?: snapshotXmin = xmin
        default: return nil
        }
        self.handle = handle
        self.shape = shape
        self.latestOffset = latestOffset
        snapshotStarted = started
    }
}

/// `PUT /v1/shapes/{stack}/{handle}/latest_offset`: the write's LSN (null when the offset held was
/// already that or later) and the offset now held.
public struct LatestOffsetResponse: Sendable, Equatable, JSONRepresentable {
    public var lsn: String?
    public var latestOffset: String

    public init(lsn: LSN?, latestOffset: LogOffset) {
        self.lsn = lsn?.description
        self.latestOffset = latestOffset.description
    }

    public var json: JSONValue { ["lsn": lsn.map(JSONValue.string) ?? .null, "latest_offset": .string(latestOffset)] }

    public init?(json: JSONValue) {
        guard let lsn = json.optionalString("lsn"), let latestOffset = json["latest_offset"]?.stringValue else { return nil }
        self.lsn = lsn
        self.latestOffset = latestOffset
    }
}

/// `PUT /v1/shapes/{stack}/{handle}/snapshot_xmin`: the write's LSN (null when nothing was
/// written), the xmin now held, and whether the value asked was ignored because the shape holds
/// another one (the xmin is set once).
public struct SnapshotXminResponse: Sendable, Equatable, JSONRepresentable {
    public var lsn: String?
    public var snapshotXmin: Int64
    public var ignored: Bool

    public init(lsn: LSN?, snapshotXmin: Int64, ignored: Bool) {
        self.lsn = lsn?.description
        self.snapshotXmin = snapshotXmin
        self.ignored = ignored
    }

    public var json: JSONValue {
        ["lsn": lsn.map(JSONValue.string) ?? .null, "snapshot_xmin": .integer(snapshotXmin), "ignored": .bool(ignored)]
    }

    public init?(json: JSONValue) {
        guard let lsn = json.optionalString("lsn"), case .integer(let xmin)? = json["snapshot_xmin"],
              case .bool(let ignored)? = json["ignored"] else { return nil }
        self.lsn = lsn
        snapshotXmin = xmin
        self.ignored = ignored
    }
}

/// One item of a process status: `{"entity", "timestamp"}`.
public struct ProcessItemResponse: Sendable, Equatable, JSONRepresentable {
    public var entity: String
    public var timestamp: Int64

    public init(entity: String, timestamp: Int64) {
        self.entity = entity
        self.timestamp = timestamp
    }

    public var json: JSONValue { ["entity": .string(entity), "timestamp": .integer(timestamp)] }

    public init?(json: JSONValue) {
        guard let entity = json["entity"]?.stringValue, case .integer(let timestamp)? = json["timestamp"] else { return nil }
        self.entity = entity
        self.timestamp = timestamp
    }
}

/// `GET /v1/process-status/{name}/items`: `{"items": [...]}`, sorted by entity.
public struct ProcessItemsResponse: Sendable, Equatable, JSONRepresentable {
    public var items: [ProcessItemResponse]

    public init(items: [ProcessItemResponse]) { self.items = items }

    public var json: JSONValue { ["items": items.json] }

    public init?(json: JSONValue) {
        guard let elements = json["items"]?.arrayValue else { return nil }
        var items: [ProcessItemResponse] = []
        for element in elements {
            guard let item = ProcessItemResponse(json: element) else { return nil }
            items.append(item)
        }
        self.items = items
    }
}

/// `GET /v1/lsn/{tracker}`: the latest write applied on this node of each origin, sorted.
public struct LSNTrackerResponse: Sendable, Equatable, JSONRepresentable {
    public var tracker: String
    public var lastReplay: [String]

    public init(tracker: String, lastReplay: [LSN]) {
        self.tracker = tracker
        self.lastReplay = lastReplay.map(\.description)
    }

    public var json: JSONValue { ["tracker": .string(tracker), "last_replay": .array(lastReplay.map(JSONValue.string))] }

    public init?(json: JSONValue) {
        guard let tracker = json["tracker"]?.stringValue, let lastReplay = json["last_replay"]?.stringArray else { return nil }
        self.tracker = tracker
        self.lastReplay = lastReplay
    }
}

/// `GET /v1/lsn/{tracker}/replicated?lsn=...`: whether the write is applied on this node.
public struct ReplicatedResponse: Sendable, Equatable, JSONRepresentable {
    public var lsn: String
    public var replicated: Bool

    public init(lsn: LSN, replicated: Bool) {
        self.lsn = lsn.description
        self.replicated = replicated
    }

    public var json: JSONValue { ["lsn": .string(lsn), "replicated": .bool(replicated)] }

    public init?(json: JSONValue) {
        guard let lsn = json["lsn"]?.stringValue, case .bool(let replicated)? = json["replicated"] else { return nil }
        self.lsn = lsn
        self.replicated = replicated
    }
}

extension JSONValue {
    /// An integer that fits `UInt64`, written as an integer (never a double rounded to one).
    var exactUInt64: UInt64? {
        switch self {
        case .integer(let value): UInt64(exactly: value)
        case .unsigned(let value): value
        default: nil
        }
    }

    /// The member `key` of an object when it is a string (`.some(text)`) or null (`.some(nil)`);
    /// nil when it is missing or of another type.
    func optionalString(_ key: String) -> String?? {
        switch self[key] {
        case .null?: .some(nil)
        case .string(let text)?: .some(text)
        default: nil
        }
    }
}
