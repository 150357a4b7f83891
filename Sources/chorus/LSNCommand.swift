import Chorus
import ChorusAdmin

/// `--tracker NAME`, default `default`.
enum TrackerOption {
    static let option = OptionSpec.value("tracker")
    static let help = "  --tracker NAME       the LSN tracker to ask (default: default)"

    static func path(_ arguments: Arguments) -> String {
        "/v1/lsn/\(segment(arguments.value("tracker") ?? "default"))"
    }
}

/// `chorus lsn show`: `GET /v1/lsn/{tracker}`.
struct LSNShowCommand: StoresCommand {
    static let words = ["lsn", "show"]
    static let summary = "Show the latest write applied on a node of each origin (GET /v1/lsn/{tracker})."
    static let help = """
        Usage: chorus lsn show [--tracker NAME] [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Prints, one per line, the LSN of the latest write of each origin (node run) applied on
        the node: every write of that origin up to it is applied there too.

        Options:
        \(TrackerOption.help)
        \(storeOptionsHelp)
        """
    static let options = storeOptions + [TrackerOption.option]

    let target: AdminTarget
    let json: Bool
    let path: String

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        path = TrackerOption.path(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("GET", path) else { return }
        let answer = try expect(LSNTrackerResponse(json: value), value)
        print(answer.lastReplay.isEmpty ? "no write applied yet" : answer.lastReplay.joined(separator: "\n"))
    }
}

/// `chorus lsn replicated LSN`: `GET /v1/lsn/{tracker}/replicated?lsn=LSN`.
struct LSNReplicatedCommand: StoresCommand {
    static let words = ["lsn", "replicated"]
    static let summary = "Say whether a write has been applied on a node (GET /v1/lsn/{tracker}/replicated)."
    static let help = """
        Usage: chorus lsn replicated LSN [--tracker NAME] [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Prints `LSN replicated` when the write LSN (as a write printed it: <16 hex digits>/<hex>)
        has been applied on the node, else `LSN not replicated`; either way exits 0.

        Options:
        \(TrackerOption.help)
        \(storeOptionsHelp)
        """
    static let positionals = ["LSN"]
    static let options = storeOptions + [TrackerOption.option]

    let target: AdminTarget
    let json: Bool
    let path: String
    let lsn: String

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        path = TrackerOption.path(arguments)
        lsn = arguments.positional[0]
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("GET", path + "/replicated?lsn=\(segment(lsn))") else { return }
        let answer = try expect(ReplicatedResponse(json: value), value)
        print("\(answer.lsn) \(answer.replicated ? "replicated" : "not replicated")")
    }
}

/// `chorus lsn await LSN`: `POST /v1/lsn/{tracker}/await`.
struct LSNAwaitCommand: StoresCommand {
    static let words = ["lsn", "await"]
    static let summary = "Wait until a write has been applied on a node (POST /v1/lsn/{tracker}/await)."
    static let help = """
        Usage: chorus lsn await LSN [--wait SECONDS] [--tracker NAME] [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Waits until the write LSN has been applied on the node, then prints `ready`: a read on
        that node then sees the write (read-your-writes anywhere). Exits 1 with `timeout` when
        it was not applied within --wait.

        Options:
          --wait SECONDS       how long to wait, 0.001 to 60 (default 5)
        \(TrackerOption.help)
        \(storeOptionsHelp)
        """
    static let positionals = ["LSN"]
    static let options = storeOptions + [TrackerOption.option, .value("wait")]

    let target: AdminTarget
    let json: Bool
    let path: String
    let lsn: String
    let waitMillis: Int64

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        path = TrackerOption.path(arguments)
        lsn = arguments.positional[0]
        let text = arguments.value("wait") ?? "5"
        guard let seconds = Double(text), seconds >= 0.001, seconds <= 60 else {
            throw UsageError("--wait must be a number of seconds from 0.001 to 60, not \"\(text)\"")
        }
        waitMillis = max(1, min(60_000, Int64((seconds * 1000).rounded())))
    }

    func run() async throws(CommandFailure) {
        let body: JSONValue = ["lsn": .string(lsn), "timeout_ms": .integer(waitMillis)]
        guard let value = try call("POST", path + "/await", body: body, extraSeconds: Double(waitMillis) / 1000) else { return }
        print(try expect(value["status"]?.stringValue, value))
    }
}
