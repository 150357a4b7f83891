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

    enum CodingKeys: String, CodingKey {
        case dropInbound = "drop_inbound", dropOutbound = "drop_outbound", loss, delayMs = "delay_ms"
    }

    public init(dropInbound: [String]? = nil, dropOutbound: [String]? = nil, loss: Double? = nil, delayMs: Int? = nil) {
        self.dropInbound = dropInbound
        self.dropOutbound = dropOutbound
        self.loss = loss
        self.delayMs = delayMs
    }

    /// Reads a body: a JSON object with any of `drop_inbound`, `drop_outbound` (arrays of
    /// strings), `loss` (a number) and `delay_ms` (an integer); null is the same as absent.
    public init(body: [UInt8]) throws(HTTPError) {
        let object = try JSONObjectReader(body: body, keys: ["drop_inbound", "drop_outbound", "loss", "delay_ms"])
        dropInbound = try object.strings("drop_inbound")
        dropOutbound = try object.strings("drop_outbound")
        loss = try object.number("loss")
        delayMs = try object.integer("delay_ms")
    }

    public var json: JSONValue {
        .object(dropping: ["drop_inbound": dropInbound.map { .array($0.map(JSONValue.string)) },
                           "drop_outbound": dropOutbound.map { .array($0.map(JSONValue.string)) },
                           "loss": loss.map(JSONValue.double),
                           "delay_ms": delayMs.map { .integer(Int64($0)) }])
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
