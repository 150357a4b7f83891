import Chorus
import ChorusWire

/// The body of `POST /v1/join`: node-to-node addresses of members to join through.
public struct JoinRequest: Codable, Equatable, Sendable, JSONRepresentable {
    public var addresses: [String]
    public init(addresses: [String]) { self.addresses = addresses }

    /// Reads a body: a JSON object with `addresses`, an array of strings (400 otherwise, naming
    /// the field at fault).
    public init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["addresses"])
        addresses = try object.strings("addresses", required: true) ?? []
    }

    public var json: JSONValue { ["addresses": .array(addresses.map(JSONValue.string))] }
}

/// The body of `PUT /v1/debug/faults` and its answer: peers are node names.
public struct FaultsRequest: Codable, Equatable, Sendable, JSONRepresentable {
    public var dropInbound: [String]?
    public var dropOutbound: [String]?
    /// Probability (0 to 1) that an outbound membership message is lost.
    public var loss: Double?
    /// Delay added to outbound membership messages.
    public var delayMs: Int?
    /// Names of `InjectedDefect`s.
    public var defects: [String]?

    enum CodingKeys: String, CodingKey {
        case dropInbound = "drop_inbound", dropOutbound = "drop_outbound", loss, delayMs = "delay_ms", defects
    }

    public init(dropInbound: [String]? = nil, dropOutbound: [String]? = nil, loss: Double? = nil, delayMs: Int? = nil,
                defects: [String]? = nil) {
        self.dropInbound = dropInbound
        self.dropOutbound = dropOutbound
        self.loss = loss
        self.delayMs = delayMs
        self.defects = defects
    }

    /// Reads a body: a JSON object with any of `drop_inbound`, `drop_outbound`, `defects` (arrays
    /// of strings), `loss` (a number) and `delay_ms` (an integer); null is the same as absent.
    public init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["drop_inbound", "drop_outbound", "loss", "delay_ms", "defects"])
        dropInbound = try object.strings("drop_inbound")
        dropOutbound = try object.strings("drop_outbound")
        loss = try object.number("loss")
        delayMs = try object.integer("delay_ms")
        defects = try object.strings("defects")
    }

    /// The faults in force, as the answer shows them.
    public init(_ faults: InjectedFaults) {
        self.init(dropInbound: faults.dropInbound.sorted(), dropOutbound: faults.dropOutbound.sorted(), loss: faults.loss,
                  delayMs: Int(faults.delayMillis), defects: faults.defects.sorted().map(\.rawValue))
    }

    /// The faults this body describes; 400 with the reason for a value out of range or an unknown defect.
    public func faults() throws(HTTPError) -> InjectedFaults {
        do throws(InjectedFaultError) {
            return try InjectedFaults(dropInbound: Set(dropInbound ?? []), dropOutbound: Set(dropOutbound ?? []), loss: loss ?? 0,
                                      delayMillis: delayMs ?? 0, defects: Set((defects ?? []).map(InjectedDefect.init(named:))))
        } catch {
            throw HTTPError(.badRequest, error.message)
        }
    }

    public var json: JSONValue {
        .object(dropping: ["drop_inbound": dropInbound.map { .array($0.map(JSONValue.string)) },
                           "drop_outbound": dropOutbound.map { .array($0.map(JSONValue.string)) },
                           "loss": loss.map(JSONValue.double),
                           "delay_ms": delayMs.map { .integer(Int64($0)) },
                           "defects": defects.map { .array($0.map(JSONValue.string)) }])
    }
}

/// The fields of a JSON object body, read with the admin API's messages: a body that is not an
/// object, an unknown field, a missing field or a value of the wrong type is a 400 that names
/// the field (`addresses[1]: expected a string, found a number`).
struct JSONObjectReader {
    let members: [String: JSONValue]

    init(body: [UInt8], keys: Set<String>) throws(HTTPError) {
        let expected = "expected a JSON object with \(keys.sorted().joined(separator: ", "))"
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw HTTPError(.badRequest, "the body is not a JSON object (\(error)): \(expected)")
        }
        guard case .object(let members) = value else {
            throw HTTPError(.badRequest, "the body is not a JSON object but \(value.kindDescription): \(expected)")
        }
        if let unknown = members.keys.sorted().first(where: { !keys.contains($0) }) {
            throw HTTPError(.badRequest, "unknown field \"\(unknown)\": \(expected)")
        }
        self.members = members
    }

    /// The value of `key`; nil when absent or null, unless `required`.
    private func value(_ key: String, _ expected: String, required: Bool) throws(HTTPError) -> JSONValue? {
        switch members[key] {
        case nil where required: throw HTTPError(.badRequest, "\(key): missing")
        case .null? where required: throw HTTPError(.badRequest, "\(key): expected \(expected), found null")
        case nil, .null?: return nil
        case let value?: return value
        }
    }

    /// The value of `key` as it is, null included; nil when absent.
    func raw(_ key: String) -> JSONValue? { members[key] }

    func string(_ key: String, required: Bool = false) throws(HTTPError) -> String? {
        guard let value = try value(key, "a string", required: required) else { return nil }
        guard case .string(let text) = value else {
            throw HTTPError(.badRequest, "\(key): expected a string, found \(value.kindDescription)")
        }
        return text
    }

    func uint64(_ key: String) throws(HTTPError) -> UInt64? {
        guard let value = try value(key, "an integer", required: false) else { return nil }
        guard let number = value.uint64Value else {
            let found = value.doubleValue.map { "\(JSONValue.double($0).text)" } ?? value.kindDescription
            throw HTTPError(.badRequest, "\(key): expected an integer from 0 to \(UInt64.max), found \(found)")
        }
        return number
    }

    func int64(_ key: String) throws(HTTPError) -> Int64? {
        guard let value = try value(key, "an integer", required: false) else { return nil }
        guard let number = value.intValue.flatMap(Int64.init(exactly:)) else {
            let found = value.doubleValue.map { "\(JSONValue.double($0).text)" } ?? value.kindDescription
            throw HTTPError(.badRequest, "\(key): expected an integer, found \(found)")
        }
        return number
    }

    func strings(_ key: String, required: Bool = false) throws(HTTPError) -> [String]? {
        guard let value = try value(key, "an array of strings", required: required) else { return nil }
        guard case .array(let elements) = value else {
            throw HTTPError(.badRequest, "\(key): expected an array of strings, found \(value.kindDescription)")
        }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                throw HTTPError(.badRequest, "\(key)[\(index)]: expected a string, found \(element.kindDescription)")
            }
            strings.append(text)
        }
        return strings
    }

    func number(_ key: String) throws(HTTPError) -> Double? {
        guard let value = try value(key, "a number", required: false) else { return nil }
        guard let number = value.doubleValue else {
            throw HTTPError(.badRequest, "\(key): expected a number, found \(value.kindDescription)")
        }
        return number
    }

    func integer(_ key: String) throws(HTTPError) -> Int? {
        guard let value = try value(key, "an integer", required: false) else { return nil }
        guard let number = value.intValue else {
            let found = value.doubleValue.map { "\(JSONValue.double($0).text)" } ?? value.kindDescription
            throw HTTPError(.badRequest, "\(key): expected an integer, found \(found)")
        }
        return number
    }
}

/// The body of the `POST` routes that add a member to a group (`.../members`,
/// `.../subscribers`): empty or `{}` for a new recorder, `{"member": "<id>"}` for a live member
/// of this node (a recorder made before, typically), which then joins once more.
public struct MemberRequest: Equatable, Sendable {
    /// The member to join; nil for a new recorder.
    public var member: GroupMemberID?

    public init(member: GroupMemberID?) { self.member = member }

    /// Reads a body: nothing (no bytes, or only whitespace), or a JSON object with an optional
    /// `member` in the text form `<16 hex digits>.<serial>` (400 otherwise).
    public init(body: [UInt8]) throws(HTTPError) {
        guard body.contains(where: { !JSONParser.isWhitespace($0) }) else {
            member = nil
            return
        }
        let object = try JSONObjectReader(body: body, keys: ["member"])
        member = try object.string("member").map { text throws(HTTPError) in try GroupMemberID.parse(text, field: "member") }
    }
}

extension GroupMemberID {
    /// A member id from a request, or a 400 that names where it came from.
    static func parse(_ text: String, field: String) throws(HTTPError) -> GroupMemberID {
        guard let id = GroupMemberID(text) else {
            throw HTTPError(.badRequest, "\(field): \"\(text.prefix(64))\" is not a member id (<16 hex digits>.<serial>, e.g. 00c0ffee00c0ffee.7)")
        }
        return id
    }
}

/// The body of `POST /v1/emitters/{store}/{subscription}/broadcast`: an event with reckon_db's
/// field names.
///
/// `event_id`, `event_type` and `stream_id` are required, non-empty strings. `data` and
/// `metadata` take any JSON value, carried as its compact JSON text (content type
/// `application/json` unless said); `data_base64` and `metadata_base64` take bytes in standard
/// base64 instead (content type `application/octet-stream` unless said); giving both forms of
/// one is refused, giving neither leaves it empty. `tags` is an array of strings, or absent or
/// null for none (reckon_db's `undefined`, which differs from `[]`). `version` defaults to 0.
/// `timestamp` (ms) and `epoch_us` (µs since the Unix epoch) default to `now`; when one is
/// given the other is derived from it. Null is the same as absent.
public struct EventRequest: Sendable {
    public var event: EmitterEvent

    static let keys: Set<String> = ["event_id", "event_type", "stream_id", "version", "data", "data_base64", "metadata",
                                    "metadata_base64", "tags", "timestamp", "epoch_us", "data_content_type",
                                    "metadata_content_type"]

    /// Reads a body; `nowMicros` is the wall clock in microseconds since the Unix epoch, for
    /// the timestamps left out. A field of the wrong type, an empty id, both forms of a payload,
    /// bad base64 or a value over a wire limit is a 400 that names the field.
    public init(body: [UInt8], nowMicros: Int64) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: Self.keys)
        func required(_ key: String) throws(HTTPError) -> String {
            let text = try object.string(key, required: true)!
            guard !text.isEmpty else { throw HTTPError(.badRequest, "\(key): must not be empty") }
            return text
        }
        func payload(_ key: String) throws(HTTPError) -> (bytes: [UInt8], defaultType: String) {
            var json = object.raw(key)
            if case .null? = json { json = nil }
            let base64 = try object.string(key + "_base64")
            switch (json, base64) {
            case (let value?, nil):
                return (value.serialized(), "application/json")
            case (nil, let text?):
                guard let bytes = Base64.decode(text) else {
                    throw HTTPError(.badRequest, "\(key)_base64: not standard base64 with padding (RFC 4648)")
                }
                return (bytes, "application/octet-stream")
            case (nil, nil):
                return ([], "application/json")
            case (.some, .some):
                throw HTTPError(.badRequest, "\(key) and \(key)_base64: give one or the other, not both")
            }
        }
        let data = try payload("data")
        let metadata = try payload("metadata")
        let tags = try object.strings("tags")
        var timestamp = try object.int64("timestamp")
        var epochMicros = try object.int64("epoch_us")
        switch (timestamp, epochMicros) {
        case (nil, nil):
            timestamp = nowMicros / 1000
            epochMicros = nowMicros
        case (let millis?, nil):
            let (micros, overflow) = millis.multipliedReportingOverflow(by: 1000)
            guard !overflow else { throw HTTPError(.badRequest, "timestamp: \(millis) ms is out of range") }
            epochMicros = micros
        case (nil, let micros?):
            timestamp = micros / 1000
        case (.some, .some):
            break
        }
        event = EmitterEvent(eventID: try required("event_id"), eventType: try required("event_type"),
                             streamID: try required("stream_id"), version: try object.uint64("version") ?? 0,
                             data: data.bytes, metadata: metadata.bytes, tags: tags,
                             timestamp: timestamp!, epochMicros: epochMicros!,
                             dataContentType: try object.string("data_content_type") ?? data.defaultType,
                             metadataContentType: try object.string("metadata_content_type") ?? metadata.defaultType)
        do {
            try event.validate()
        } catch {
            throw HTTPError(.badRequest, "the event breaks a wire limit (\(error)): ids, types and content types are at most "
                                + "\(WireLimits.maxStringBytes) bytes each, tags at most \(EmitterEvent.maxTags)")
        }
    }
}

/// The body of `POST /v1/topics/{topic}/publish`: the payload, as `{"message": <any JSON>}`
/// (carried as its compact JSON text; null is the text `null`) or as
/// `{"payload_base64": "..."}` (bytes in standard base64), one or the other. A null
/// `payload_base64` is refused, not taken for absent: with `message` it would be two payloads.
public struct PublishRequest: Sendable, Equatable {
    public var payload: [UInt8]

    public init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["message", "payload_base64"])
        if case .null? = object.raw("payload_base64") {
            throw HTTPError(.badRequest, "payload_base64: expected a string of standard base64, found null")
        }
        switch (object.raw("message"), try object.string("payload_base64")) {
        case (let message?, nil):
            payload = message.serialized()
        case (nil, let text?):
            guard let bytes = Base64.decode(text) else {
                throw HTTPError(.badRequest, "payload_base64: not standard base64 with padding (RFC 4648)")
            }
            payload = bytes
        case (nil, nil):
            throw HTTPError(.badRequest, "give message (any JSON) or payload_base64")
        case (.some, .some):
            throw HTTPError(.badRequest, "message and payload_base64: give one or the other, not both")
        }
    }
}

/// The query of a request, read against the names a route takes: a name it does not take, a
/// name given twice or a value that does not parse is a 400 that names it.
struct QueryReader {
    private let values: [String: String]

    init(_ request: HTTPRequest, keys: Set<String>) throws(HTTPError) {
        guard let pairs = request.query else {
            throw HTTPError(.badRequest, "the query is not valid percent-encoded UTF-8")
        }
        var values: [String: String] = [:]
        let expected = keys.isEmpty ? "this operation takes no query parameter" : "expected \(keys.sorted().joined(separator: ", "))"
        for (name, value) in pairs {
            guard keys.contains(name) else { throw HTTPError(.badRequest, "unknown query parameter \"\(name.prefix(64))\": \(expected)") }
            guard values.updateValue(value, forKey: name) == nil else { throw HTTPError(.badRequest, "query parameter \(name) is given twice") }
        }
        self.values = values
    }

    /// The value of `key` as given; nil when absent.
    func value(_ key: String) -> String? { values[key] }

    /// `true` or `false`; nil when absent.
    func bool(_ key: String) throws(HTTPError) -> Bool? {
        switch values[key] {
        case nil: return nil
        case "true": return true
        case "false": return false
        case let text?: throw HTTPError(.badRequest, "\(key): expected true or false, found \"\(text.prefix(64))\"")
        }
    }

    /// A whole number in `range`; nil when absent.
    func integer(_ key: String, in range: ClosedRange<UInt64>) throws(HTTPError) -> UInt64? {
        guard let text = values[key] else { return nil }
        guard text.utf8.allSatisfy(ASCII.isDigit), let number = UInt64(text), range.contains(number) else {
            throw HTTPError(.badRequest, "\(key): expected a whole number from \(range.lowerBound) to \(range.upperBound), found \"\(text.prefix(64))\"")
        }
        return number
    }
}
