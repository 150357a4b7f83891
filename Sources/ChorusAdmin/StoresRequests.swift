import Chorus

// The requests of the stores routes (epochs, shapes, process status, LSN trackers): each is read
// whole, and refused with a 400 that names the field at fault, before anything is changed.
//
// Numbers are read exactly: an integer field takes only an integer literal (no fraction, no
// exponent) in its range, so that `9007199254740993` is never read as `9007199254740992`, and
// `5.0` or `5e0` is refused rather than rounded. Null is refused for every field.

/// `PUT /v1/epochs/{client}/{topic}/{producer}/{access_mode}`: `{"epoch": N}`, N from 0 to 2^64 - 1.
struct EpochPutRequest: Sendable, Equatable {
    var epoch: UInt64

    init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["epoch"])
        epoch = try object.exactUInt64("epoch")
    }
}

/// `POST /v1/shapes/{stack}`: `{"shape": {...}}`, any JSON object; the shape's definition is its
/// canonical text (`CanonicalJSON`).
struct ShapeAddRequest: Sendable, Equatable {
    var shape: Shape

    init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["shape"])
        let value = try object.present("shape", "a JSON object")
        guard case .object = value else {
            throw HTTPError(.badRequest, "shape: expected a JSON object, found \(value.kindDescription)")
        }
        shape = Shape(definition: CanonicalJSON.text(value))
    }
}

/// `PUT /v1/shapes/{stack}/{handle}/latest_offset`: `{"offset": "<tx>_<op>"}`.
struct LatestOffsetRequest: Sendable, Equatable {
    var offset: LogOffset

    init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["offset"])
        let text = try object.requiredString("offset")
        guard let offset = LogOffset(text) else {
            throw HTTPError(.badRequest, "offset: \"\(text.prefix(64))\" is not a log offset (<tx>_<op> in decimal, e.g. 12_3, or -1)")
        }
        self.offset = offset
    }
}

/// `PUT /v1/shapes/{stack}/{handle}/snapshot_xmin`: `{"xmin": N}`, a signed 64-bit integer.
struct SnapshotXminRequest: Sendable, Equatable {
    var xmin: Int64

    init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["xmin"])
        xmin = try object.exactInt64("xmin")
    }
}

/// `POST /v1/process-status/{name}/items`: `{"entity": "...", "timestamp": N}`; the entity is
/// not empty, the timestamp a signed 64-bit integer (microseconds, by the seed's convention).
struct ItemProcessedRequest: Sendable, Equatable {
    var entity: String
    var timestamp: Int64

    init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["entity", "timestamp"])
        entity = try object.requiredString("entity")
        guard !entity.isEmpty else { throw HTTPError(.badRequest, "entity: must not be empty") }
        timestamp = try object.exactInt64("timestamp")
    }
}

/// `POST /v1/lsn/{tracker}/await`: `{"lsn": "...", "timeout_ms": N}`, the timeout optional
/// (default 5000) and from 1 to 60000.
struct AwaitLSNRequest: Sendable, Equatable {
    static let timeoutRange: ClosedRange<Int64> = 1...60_000
    static let defaultTimeoutMillis: Int64 = 5000

    var lsn: LSN
    var timeoutMillis: Int64

    init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["lsn", "timeout_ms"])
        lsn = try LSN.parse(try object.requiredString("lsn"), field: "lsn")
        timeoutMillis = object.raw("timeout_ms") == nil
            ? Self.defaultTimeoutMillis
            : try object.exactInt64("timeout_ms", in: Self.timeoutRange)
    }
}

/// The body of a `PUT` or `POST` that takes none: nothing (or only whitespace), or `{}`.
enum EmptyBody {
    static func check(_ body: [UInt8]) throws(HTTPError) {
        guard body.contains(where: { !JSONParser.isWhitespace($0) }) else { return }
        guard case .object(let members)? = try? JSONParser.parse(body), members.isEmpty else {
            throw HTTPError(.badRequest, "this operation takes no body (send nothing, or {})")
        }
    }
}

extension JSONObjectReader {
    /// The value of `key`: missing or null is a 400.
    func present(_ key: String, _ expected: String) throws(HTTPError) -> JSONValue {
        switch raw(key) {
        case nil: throw HTTPError(.badRequest, "\(key): missing")
        case .null?: throw HTTPError(.badRequest, "\(key): expected \(expected), found null")
        case let value?: return value
        }
    }

    /// A string that must be there.
    func requiredString(_ key: String) throws(HTTPError) -> String {
        let value = try present(key, "a string")
        guard case .string(let text) = value else {
            throw HTTPError(.badRequest, "\(key): expected a string, found \(value.kindDescription)")
        }
        return text
    }

    /// An integer literal from 0 to 2^64 - 1 that must be there.
    func exactUInt64(_ key: String) throws(HTTPError) -> UInt64 {
        let expected = "an integer from 0 to \(UInt64.max) written without fraction or exponent"
        let value = try present(key, expected)
        switch value {
        case .integer(let number) where number >= 0: return UInt64(number)
        case .unsigned(let number): return number
        default: throw HTTPError(.badRequest, "\(key): expected \(expected), found \(Self.describe(value))")
        }
    }

    /// An integer literal in `range` that must be there.
    func exactInt64(_ key: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) throws(HTTPError) -> Int64 {
        let expected = "an integer from \(range.lowerBound) to \(range.upperBound) written without fraction or exponent"
        let value = try present(key, expected)
        guard case .integer(let number) = value, range.contains(number) else {
            throw HTTPError(.badRequest, "\(key): expected \(expected), found \(Self.describe(value))")
        }
        return number
    }

    /// A value as an error message shows it: numbers as read, other values by kind.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let number): "\(number)"
        case .unsigned(let number): "\(number)"
        case .double(let number): "\(JSONValue.double(number).text) (a fraction, an exponent, or out of range)"
        default: value.kindDescription
        }
    }
}

extension EpochAccessMode {
    /// The access mode of a path segment, or a 400.
    static func parse(_ text: String) throws(HTTPError) -> EpochAccessMode {
        guard let mode = EpochAccessMode(text: text) else {
            throw HTTPError(.badRequest, "access_mode: \"\(text.prefix(64))\" is not an access mode (shared, exclusive, "
                                + "exclusive_with_fencing, wait_for_exclusive, or Pulsar's Shared, Exclusive, "
                                + "ExclusiveWithFencing, WaitForExclusive)")
        }
        return mode
    }
}

extension ShapeHandle {
    /// The handle of a path segment, or a 400.
    static func parse(_ text: String) throws(HTTPError) -> ShapeHandle {
        guard let handle = ShapeHandle(text) else {
            throw HTTPError(.badRequest, "handle: \"\(text.prefix(64))\" is not a shape handle (<16 lowercase hex digits>-<unix ms>)")
        }
        return handle
    }
}

extension LSN {
    /// An LSN from a request, or a 400 that names where it came from.
    static func parse(_ text: String, field: String) throws(HTTPError) -> LSN {
        guard let lsn = LSN(text) else {
            throw HTTPError(.badRequest, "\(field): \"\(text.prefix(64))\" is not an LSN (<16 hex digits>/<1 to 16 hex digits>, e.g. 64f48df6ba3333eb/1A2F)")
        }
        return lsn
    }
}

extension QueryReader {
    /// `?keeping=replicated|durable|none`, replicated when absent.
    func keeping() throws(HTTPError) -> ProcessStatusKeeping {
        guard let text = value("keeping") else { return .replicated }
        guard let keeping = ProcessStatusKeeping(rawValue: text) else {
            throw HTTPError(.badRequest, "keeping: expected replicated, durable or none, found \"\(text.prefix(64))\"")
        }
        return keeping
    }
}

/// LSN tracker names: 1 to 64 letters, digits, `-`, `_` and `.`, starting with a letter or a
/// digit (so never a `.` or `..` path segment). A tracker's name labels its metrics, so the API
/// keeps names short and plain (the Swift API takes any name).
enum TrackerName {
    static let maxBytes = 64

    static func check(_ name: String) throws(HTTPError) {
        func alphanumeric(_ byte: UInt8) -> Bool {
            ASCII.isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
        let plain = name.utf8.allSatisfy { byte in
            alphanumeric(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard plain, name.utf8.first.map(alphanumeric) == true, name.utf8.count <= maxBytes else {
            throw HTTPError(.badRequest, "tracker: \"\(name.prefix(64))\" is not a tracker name (1 to \(maxBytes) letters, digits, "
                                + "'-', '_', '.', starting with a letter or digit)")
        }
    }
}
