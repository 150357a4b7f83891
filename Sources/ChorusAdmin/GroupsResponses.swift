import Chorus
import ChorusWire

/// The answer of the routes that join a member to a group or take it out of one (groups,
/// emitter groups, topics): `{"member": "<id>", "scope": "...", "group": "..."}`. `scope` and
/// `group` say where it went (an emitter group's name is `EmitterNames.group`), which is where
/// `DELETE /v1/scopes/{scope}/groups/{group}/members/{member}` takes it out again.
public struct GroupMemberResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var member: String
    public var scope: String
    public var group: String

    public init(member: GroupMemberID, scope: String, group: String) {
        self.member = "\(member)"
        self.scope = scope
        self.group = group
    }

    public var json: JSONValue { ["member": .string(member), "scope": .string(scope), "group": .string(group)] }

    /// The answer as the API writes it, read back by a client; nil when a field is missing.
    public init?(json: JSONValue) {
        guard let member = json["member"]?.stringValue, let scope = json["scope"]?.stringValue,
              let group = json["group"]?.stringValue else { return nil }
        self.member = member
        self.scope = scope
        self.group = group
    }
}

/// `GET /v1/scopes/{scope}/groups/{group}`: the group's members in the cluster and on this
/// node, sorted, a member listed once per join; both empty for a group without members (pg has
/// no empty groups).
public struct GroupResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var members: [String]
    public var localMembers: [String]

    enum CodingKeys: String, CodingKey {
        case members, localMembers = "local_members"
    }

    public init(members: [GroupMemberID], localMembers: [GroupMemberID]) {
        self.members = members.map(\.description)
        self.localMembers = localMembers.map(\.description)
    }

    public var json: JSONValue {
        ["members": .array(members.map(JSONValue.string)), "local_members": .array(localMembers.map(JSONValue.string))]
    }

    /// The answer as the API writes it, read back by a client; nil when a field is missing.
    public init?(json: JSONValue) {
        guard let members = json["members"]?.stringArray, let localMembers = json["local_members"]?.stringArray else { return nil }
        self.members = members
        self.localMembers = localMembers
    }
}

/// `GET /v1/scopes/{scope}/groups`: the groups of the scope with a member anywhere, and those
/// with a member on this node, sorted.
public struct ScopeResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var groups: [String]
    public var localGroups: [String]

    enum CodingKeys: String, CodingKey {
        case groups, localGroups = "local_groups"
    }

    public init(groups: [String], localGroups: [String]) {
        self.groups = groups
        self.localGroups = localGroups
    }

    public var json: JSONValue {
        ["groups": .array(groups.map(JSONValue.string)), "local_groups": .array(localGroups.map(JSONValue.string))]
    }

    /// The answer as the API writes it, read back by a client; nil when a field is missing.
    public init?(json: JSONValue) {
        guard let groups = json["groups"]?.stringArray, let localGroups = json["local_groups"]?.stringArray else { return nil }
        self.groups = groups
        self.localGroups = localGroups
    }
}

/// `POST /v1/emitters/{store}/{subscription}/broadcast`: the member that got the event, and
/// whether in-process (`local`) or over a node link (`remote`).
public struct BroadcastResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var member: String
    public var path: String

    public init(_ receipt: BroadcastReceipt) {
        member = "\(receipt.member)"
        path = receipt.path.rawValue
    }

    public var json: JSONValue { ["member": .string(member), "path": .string(path)] }

    /// The answer as the API writes it, read back by a client; nil when a field is missing.
    public init?(json: JSONValue) {
        guard let member = json["member"]?.stringValue, let path = json["path"]?.stringValue else { return nil }
        self.member = member
        self.path = path
    }
}

/// `POST /v1/topics/{topic}/publish`: how many nodes the message went to, this one included
/// when it has subscribers; 0 when the topic has none.
public struct PublishResponse: Codable, Equatable, Sendable, JSONRepresentable {
    public var nodes: Int

    public init(nodes: Int) { self.nodes = nodes }

    public var json: JSONValue { ["nodes": .integer(Int64(nodes))] }
}

/// `GET /v1/recorders`: every recorder of this node's admin API, by member id.
public struct RecorderListResponse: Sendable, JSONRepresentable {
    public var recorders: [Recorders.Summary]

    public init(_ recorders: [Recorders.Summary]) { self.recorders = recorders }

    public var json: JSONValue {
        ["recorders": .array(recorders.map { recorder in
            ["member": .string("\(recorder.member)"), "received": .unsigned(recorder.received),
             "dropped": .unsigned(recorder.dropped), "kept": .integer(Int64(recorder.kept))]
        })]
    }
}

/// `GET /v1/recorders/{member}/messages`: what a recorder received, oldest first.
///
/// `{"member", "received", "dropped", "messages": [...]}`; each message has `seq` (its number,
/// from 1), `kind` (`event`, `published` or `bytes`), `path` (`local` or `remote`), `from_node`
/// (the uid of the node it came from) and, when a member sent it, `from`. An event has `event`
/// (reckon_db's fields; see `eventJSON`); a published message has `topic`; a published or bytes
/// message has `payload_base64`, and `message` too when the payload is JSON text. Bytes are
/// always there exactly in base64; the JSON forms are a convenience.
public struct RecordedMessagesResponse: Sendable, JSONRepresentable {
    public var page: Recorders.Page

    public init(_ page: Recorders.Page) { self.page = page }

    public var json: JSONValue {
        ["member": .string("\(page.member)"), "received": .unsigned(page.received), "dropped": .unsigned(page.dropped),
         "messages": .array(page.entries.map(Self.json))]
    }

    /// One recorded message.
    static func json(_ entry: RecorderLog.Entry) -> JSONValue {
        let message = entry.message
        var object: [String: JSONValue] = ["seq": .unsigned(entry.seq), "path": .string(message.path.rawValue),
                                           "from_node": .string("\(message.fromNode)")]
        if let from = message.from { object["from"] = .string("\(from)") }
        switch message.content {
        case .event(let event):
            object["kind"] = "event"
            object["event"] = eventJSON(event)
        case .published(let topic, let payload):
            object["kind"] = "published"
            object["topic"] = .string(topic)
            object["payload_base64"] = .string(Base64.encode(payload))
            if let parsed = try? JSONParser.parse(payload) { object["message"] = parsed }
        case .bytes(let payload):
            object["kind"] = "bytes"
            object["payload_base64"] = .string(Base64.encode(payload))
            if let parsed = try? JSONParser.parse(payload) { object["message"] = parsed }
        }
        return .object(object)
    }

    /// An event with reckon_db's field names, as `EventRequest` reads them: `data_base64` and
    /// `metadata_base64` always, and `data` and `metadata` as JSON values too when their content
    /// type is `application/json` (whatever its parameters) and the bytes are JSON text; `tags`
    /// is null for none.
    public static func eventJSON(_ event: EmitterEvent) -> JSONValue {
        var object: [String: JSONValue] = [
            "event_id": .string(event.eventID), "event_type": .string(event.eventType), "stream_id": .string(event.streamID),
            "version": .unsigned(event.version), "data_base64": .string(Base64.encode(event.data)),
            "metadata_base64": .string(Base64.encode(event.metadata)),
            "tags": event.tags.map { .array($0.map(JSONValue.string)) } ?? .null,
            "timestamp": .integer(event.timestamp), "epoch_us": .integer(event.epochMicros),
            "data_content_type": .string(event.dataContentType), "metadata_content_type": .string(event.metadataContentType),
        ]
        if isJSON(event.dataContentType), let data = try? JSONParser.parse(event.data) { object["data"] = data }
        if isJSON(event.metadataContentType), let metadata = try? JSONParser.parse(event.metadata) { object["metadata"] = metadata }
        return .object(object)
    }

    /// Whether a content type is `application/json`, parameters (`; charset=utf-8`) and case aside.
    static func isJSON(_ contentType: String) -> Bool {
        contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces().lowercased() } == "application/json"
    }
}

extension JSONValue {
    /// The strings, if this is an array of strings only.
    var stringArray: [String]? {
        guard case .array(let elements) = self else { return nil }
        var strings: [String] = []
        for element in elements {
            guard case .string(let text) = element else { return nil }
            strings.append(text)
        }
        return strings
    }
}
