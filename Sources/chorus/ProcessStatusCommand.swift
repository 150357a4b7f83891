import Chorus
import ChorusAdmin

/// `NAME` and `--keeping`, the process status a command is about.
struct ProcessStatusArguments {
    static let option = OptionSpec.value("keeping")
    static let help = "  --keeping KEEPING    replicated (default), durable (this node only) or none"

    let name: String
    let keeping: String?

    init(_ arguments: Arguments) {
        name = arguments.positional[0]
        keeping = arguments.value("keeping")
    }

    /// `/v1/process-status/{name}/items` and `suffix`, with `?keeping=` when given.
    func path(_ suffix: String = "") -> String {
        "/v1/process-status/\(segment(name))/items\(suffix)" + (keeping.map { "?keeping=\(segment($0))" } ?? "")
    }
}

/// `chorus process-status processed NAME ENTITY --timestamp N`: `POST .../items`.
struct ProcessStatusProcessedCommand: StoresCommand {
    static let words = ["process-status", "processed"]
    static let summary = "Record that an entity was processed (POST /v1/process-status/{name}/items)."
    static let help = """
        Usage: chorus process-status processed NAME ENTITY --timestamp N [--keeping KEEPING] [--json]
                                               (--admin HOST:PORT | --config FILE --node NAME)

        Records that ENTITY was processed up to timestamp N (microseconds, by EventStreamex's
        convention) in the process status NAME. An entity keeps the highest timestamp: prints
        `recorded (lsn LSN)`, or `nothing written` when a timestamp as high was held (or with
        --keeping none).

        Options:
          --timestamp N        the timestamp, a whole number
        \(ProcessStatusArguments.help)
        \(storeOptionsHelp)
        """
    static let positionals = ["NAME", "ENTITY"]
    static let options = storeOptions + [ProcessStatusArguments.option, .value("timestamp")]

    let target: AdminTarget
    let json: Bool
    let status: ProcessStatusArguments
    let entity: String
    let timestamp: Int64

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        status = ProcessStatusArguments(arguments)
        entity = arguments.positional[1]
        let text = try arguments.required("timestamp", "N")
        guard let timestamp = Int64(text) else { throw UsageError("--timestamp must be a whole number, not \"\(text)\"") }
        self.timestamp = timestamp
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("POST", status.path(), body: ["entity": .string(entity), "timestamp": .integer(timestamp)]) else { return }
        let answer = try expect(LSNResponse(json: value), value)
        print(answer.lsn == nil ? "nothing written" : "recorded\(lsnNote(answer.lsn))")
    }
}

/// `chorus process-status list NAME`: `GET .../items`.
struct ProcessStatusListCommand: StoresCommand {
    static let words = ["process-status", "list"]
    static let summary = "List the items of a process status (GET /v1/process-status/{name}/items)."
    static let help = """
        Usage: chorus process-status list NAME [--keeping KEEPING] [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Prints the items of the process status NAME, sorted by entity: ENTITY and TIMESTAMP.

        Options:
        \(ProcessStatusArguments.help)
        \(storeOptionsHelp)
        """
    static let positionals = ["NAME"]
    static let options = storeOptions + [ProcessStatusArguments.option]

    let target: AdminTarget
    let json: Bool
    let status: ProcessStatusArguments

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        status = ProcessStatusArguments(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("GET", status.path()) else { return }
        let answer = try expect(ProcessItemsResponse(json: value), value)
        print(textTable([["ENTITY", "TIMESTAMP"]] + answer.items.map { [GroupsCommand.cell($0.entity), "\($0.timestamp)"] }), terminator: "")
    }
}

/// `chorus process-status get NAME ENTITY`: `GET .../items/{entity}`.
struct ProcessStatusGetCommand: StoresCommand {
    static let words = ["process-status", "get"]
    static let summary = "Show when an entity was last processed (GET /v1/process-status/{name}/items/{entity})."
    static let help = """
        Usage: chorus process-status get NAME ENTITY [--keeping KEEPING] [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Prints ENTITY and its TIMESTAMP. Exits 1 when the entity was never processed (not_found).

        Options:
        \(ProcessStatusArguments.help)
        \(storeOptionsHelp)
        """
    static let positionals = ["NAME", "ENTITY"]
    static let options = storeOptions + [ProcessStatusArguments.option]

    let target: AdminTarget
    let json: Bool
    let status: ProcessStatusArguments
    let entity: String

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        status = ProcessStatusArguments(arguments)
        entity = arguments.positional[1]
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("GET", status.path("/\(segment(entity))")) else { return }
        let item = try expect(ProcessItemResponse(json: value), value)
        print(textTable([["ENTITY", "TIMESTAMP"], [GroupsCommand.cell(item.entity), "\(item.timestamp)"]]), terminator: "")
    }
}

/// `chorus process-status reset NAME`: `DELETE .../items`.
struct ProcessStatusResetCommand: StoresCommand {
    static let words = ["process-status", "reset"]
    static let summary = "Remove every item of a process status (DELETE /v1/process-status/{name}/items)."
    static let help = """
        Usage: chorus process-status reset NAME [--keeping KEEPING] [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Removes every item of the process status NAME. Prints `reset (lsn LSN)`, or `nothing to reset`.

        Options:
        \(ProcessStatusArguments.help)
        \(storeOptionsHelp)
        """
    static let positionals = ["NAME"]
    static let options = storeOptions + [ProcessStatusArguments.option]

    let target: AdminTarget
    let json: Bool
    let status: ProcessStatusArguments

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        status = ProcessStatusArguments(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("DELETE", status.path()) else { return }
        let answer = try expect(LSNResponse(json: value), value)
        print(answer.lsn == nil ? "nothing to reset" : "reset\(lsnNote(answer.lsn))")
    }
}
