import Chorus
import ChorusAdmin

/// `chorus broadcast`: hands one event to an emitter of a subscription through a running node's
/// admin API, as reckon_db's `broadcast` does, and says which member got it and how.
struct BroadcastCommand: Command {
    static let words = ["broadcast"]
    static let summary = "Broadcast an event to one emitter of a subscription (POST /v1/emitters/.../broadcast)."
    static let help = """
        Usage: chorus broadcast STORE SUBSCRIPTION --event-id ID --event-type TYPE --stream-id STREAM
                                [--version N] [--data JSON | --data-base64 BASE64] [--metadata JSON]
                                [--tag TAG]... [--ack [--ack-timeout SECONDS]] [--json]
                                (--admin HOST:PORT | --config FILE --node NAME)

        Sends the event to one member of the emitter group of STORE and SUBSCRIPTION, chosen
        uniformly at random in the cluster, and prints it as MEMBER and PATH (local: in the
        node's process; remote: over a node link). Without --ack that is who was chosen; with
        --ack, the member that took the event, retried on another member when a node fails
        to ack. timestamp and epoch_us are the node's clock. With --json, prints the API's
        answer. Exits 1 when there is no emitter (no_emitters), no member acked in time
        (not_acknowledged) or the node does not answer; 2 when the node finds the event invalid.

        Options:
          --event-id ID           the event's id (receivers of --ack broadcasts drop an id they took)
          --event-type TYPE       its type
          --stream-id STREAM      its stream
          --version N             its version (default 0)
          --data JSON             its data, a JSON value (sent as compact JSON text)
          --data-base64 BASE64    its data as bytes, in standard base64
          --metadata JSON         its metadata, a JSON value
          --tag TAG               a tag (repeat for more; none means reckon_db's undefined)
          --ack                   wait until a member has taken the event (at-least-once)
          --ack-timeout SECONDS   with --ack, how long to keep trying (default 5)
          --json                  print the JSON the API gives
        \(AdminTarget.help(column: 26))
        """
    static let positionals = ["STORE", "SUBSCRIPTION"]
    static let options: [OptionSpec] = AdminTarget.options + [
        .value("event-id"), .value("event-type"), .value("stream-id"), .value("version"), .value("data"),
        .value("data-base64"), .value("metadata"), .repeatable("tag"), .flag("ack"), .value("ack-timeout"), .flag("json"),
    ]

    let target: AdminTarget
    let store: String
    let subscription: String
    /// The request body: the event with reckon_db's field names.
    let event: JSONValue
    let ackTimeout: Double?
    let json: Bool

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        store = arguments.positional[0]
        subscription = arguments.positional[1]
        var event: [String: JSONValue] = [
            "event_id": .string(try arguments.required("event-id", "ID")),
            "event_type": .string(try arguments.required("event-type", "TYPE")),
            "stream_id": .string(try arguments.required("stream-id", "STREAM")),
        ]
        if let text = arguments.value("version") {
            guard let version = UInt64(text) else { throw UsageError("--version must be a whole number, not \"\(text)\"") }
            event["version"] = .unsigned(version)
        }
        guard arguments.value("data") == nil || arguments.value("data-base64") == nil else {
            throw UsageError("give --data or --data-base64, not both")
        }
        for (option, field) in [("data", "data"), ("metadata", "metadata")] {
            guard let text = arguments.value(option) else { continue }
            do {
                event[field] = try JSONParser.parse(text)
            } catch {
                throw UsageError("--\(option) must be a JSON value (quote a string: '\"text\"'): \(error)")
            }
        }
        if let base64 = arguments.value("data-base64") { event["data_base64"] = .string(base64) }
        let tags = arguments.all("tag")
        if !tags.isEmpty { event["tags"] = .array(tags.map(JSONValue.string)) }
        self.event = .object(event)
        json = arguments.flag("json")
        if let text = arguments.value("ack-timeout") {
            guard arguments.flag("ack") else { throw UsageError("--ack-timeout goes with --ack") }
            guard let seconds = Double(text), seconds >= 0.001, seconds <= 60 else {
                throw UsageError("--ack-timeout must be a number of seconds from 0.001 to 60, not \"\(text)\"")
            }
            ackTimeout = seconds
        } else {
            ackTimeout = arguments.flag("ack") ? 5 : nil
        }
    }

    func run() async throws(CommandFailure) {
        var path = "/v1/emitters/\(AdminRouter.percentEncoded(store))/\(AdminRouter.percentEncoded(subscription))/broadcast"
        if let ackTimeout { path += "?ack=true&timeout_ms=\(Int((ackTimeout * 1000).rounded()))" }
        let (raw, value) = try target.json("POST", path, body: event, extraSeconds: ackTimeout ?? 0)
        if json {
            print(String(decoding: raw, as: UTF8.self))
            return
        }
        let receipt = try GroupsCommand.read(BroadcastResponse(json: value), raw)
        print(textTable([["MEMBER", "PATH"], [receipt.member, receipt.path]]), terminator: "")
    }
}
