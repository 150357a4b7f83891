import Chorus
import ChorusAdmin

/// `chorus epochs init CLIENT`: `PUT /v1/epochs/{client}`.
struct EpochsInitCommand: StoresCommand {
    static let words = ["epochs", "init"]
    static let summary = "Start a client's producer-epoch store (PUT /v1/epochs/{client})."
    static let help = """
        Usage: chorus epochs init CLIENT [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Starts the epoch store of CLIENT (Pulsar's ProducerEpochStore init), replicated to every
        node; a client must be started before its epochs are put. Idempotent: prints
        `started client "CLIENT" (lsn LSN)`, or `client "CLIENT" was started already`.

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = ["CLIENT"]
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let client: String

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        client = arguments.positional[0]
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("PUT", "/v1/epochs/\(segment(client))") else { return }
        let answer = try expect(LSNResponse(json: value), value)
        print(answer.lsn == nil ? "client \(quoted(client)) was started already" : "started client \(quoted(client))\(lsnNote(answer.lsn))")
    }
}

/// `chorus epochs remove-client CLIENT`: `DELETE /v1/epochs/{client}`.
struct EpochsRemoveClientCommand: StoresCommand {
    static let words = ["epochs", "remove-client"]
    static let summary = "Remove a client's epoch store and its epochs (DELETE /v1/epochs/{client})."
    static let help = """
        Usage: chorus epochs remove-client CLIENT [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Removes the epoch store of CLIENT and every epoch in it: the client is not started any
        more. Prints `removed client "CLIENT" (lsn LSN)`, or `client "CLIENT" had nothing to remove`.

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = ["CLIENT"]
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let client: String

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        client = arguments.positional[0]
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("DELETE", "/v1/epochs/\(segment(client))") else { return }
        let answer = try expect(LSNResponse(json: value), value)
        print(answer.lsn == nil ? "client \(quoted(client)) had nothing to remove" : "removed client \(quoted(client))\(lsnNote(answer.lsn))")
    }
}

/// The key of a producer's epoch: `CLIENT TOPIC PRODUCER MODE`.
struct EpochKeyArguments {
    static let positionals = ["CLIENT", "TOPIC", "PRODUCER", "MODE"]
    static let help = """
        MODE is the producer's access mode: shared, exclusive, exclusive_with_fencing or
        wait_for_exclusive (or Pulsar's Shared, Exclusive, ExclusiveWithFencing, WaitForExclusive).
        """

    let client: String
    let topic: String
    let producer: String
    let mode: String

    init(_ arguments: Arguments) {
        client = arguments.positional[0]
        topic = arguments.positional[1]
        producer = arguments.positional[2]
        mode = arguments.positional[3]
    }

    var path: String { "/v1/epochs/\(segment(client))/\(segment(topic))/\(segment(producer))/\(segment(mode))" }
}

/// `chorus epochs put CLIENT TOPIC PRODUCER MODE --epoch N`.
struct EpochsPutCommand: StoresCommand {
    static let words = ["epochs", "put"]
    static let summary = "Store a producer's epoch, or keep a higher one (PUT /v1/epochs/{client}/{topic}/{producer}/{mode})."
    static let help = """
        Usage: chorus epochs put CLIENT TOPIC PRODUCER MODE --epoch N [--json]
                                 (--admin HOST:PORT | --config FILE --node NAME)

        Stores epoch N (0 to 18446744073709551615) for the producer, or keeps the higher epoch
        already stored: an epoch never goes back. Prints the epoch now held and the LSN of the
        write that stored it, `epoch N (lsn LSN)`; await that LSN on another node
        (chorus lsn await) to read it there. Exits 1 when the client is not started.
        \(EpochKeyArguments.help)

        Options:
          --epoch N            the epoch
        \(storeOptionsHelp)
        """
    static let positionals = EpochKeyArguments.positionals
    static let options = storeOptions + [.value("epoch")]

    let target: AdminTarget
    let json: Bool
    let key: EpochKeyArguments
    let epoch: UInt64

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        key = EpochKeyArguments(arguments)
        let text = try arguments.required("epoch", "N")
        guard let epoch = UInt64(text) else { throw UsageError("--epoch must be a whole number from 0 to \(UInt64.max), not \"\(text)\"") }
        self.epoch = epoch
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("PUT", key.path, body: ["epoch": .unsigned(epoch)]) else { return }
        let answer = try expect(EpochPutResponse(json: value), value)
        let higher = answer.epoch > epoch ? ", kept over \(epoch)" : ""
        print("epoch \(answer.epoch)\(higher)\(lsnNote(answer.lsn))")
    }
}

/// `chorus epochs get CLIENT TOPIC PRODUCER MODE`.
struct EpochsGetCommand: StoresCommand {
    static let words = ["epochs", "get"]
    static let summary = "Show a producer's stored epoch (GET /v1/epochs/{client}/{topic}/{producer}/{mode})."
    static let help = """
        Usage: chorus epochs get CLIENT TOPIC PRODUCER MODE [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Prints the producer's stored epoch as this node holds it, `epoch N`. Exits 1 when none
        is stored (not_found) or the client is not started (client_not_started).
        \(EpochKeyArguments.help)

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = EpochKeyArguments.positionals
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let key: EpochKeyArguments

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        key = EpochKeyArguments(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("GET", key.path) else { return }
        print("epoch \(try expect(EpochResponse(json: value), value).epoch)")
    }
}

/// `chorus epochs delete CLIENT TOPIC PRODUCER MODE`.
struct EpochsDeleteCommand: StoresCommand {
    static let words = ["epochs", "delete"]
    static let summary = "Delete a producer's stored epoch (DELETE /v1/epochs/{client}/{topic}/{producer}/{mode})."
    static let help = """
        Usage: chorus epochs delete CLIENT TOPIC PRODUCER MODE [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Deletes the producer's stored epoch. Prints `deleted (lsn LSN)`, or `no epoch was stored`.
        Exits 1 when the client is not started.
        \(EpochKeyArguments.help)

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = EpochKeyArguments.positionals
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let key: EpochKeyArguments

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        key = EpochKeyArguments(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("DELETE", key.path) else { return }
        let answer = try expect(LSNResponse(json: value), value)
        print(answer.lsn == nil ? "no epoch was stored" : "deleted\(lsnNote(answer.lsn))")
    }
}
