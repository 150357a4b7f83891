import Chorus
import ChorusAdmin

/// `chorus keys generate`: a new random cluster key.
struct KeysGenerateCommand: Command {
    static let words = ["keys", "generate"]
    static let summary = "Print a new random cluster key (base64), for encrypt_key or `chorus keys install`."
    static let help = """
        Usage: chorus keys generate

        Prints 32 random bytes in base64: a key for a cluster file's encrypt_key, a keyring
        file, or `chorus keys install`. Keep it secret.
        """
    static let options: [OptionSpec] = []

    init(_ arguments: Arguments) throws(UsageError) {}

    func run() async throws(CommandFailure) {
        print(ClusterKey.generate().base64)
    }
}

/// What the keys commands that ask nodes share: the targets (one node, or every node of a
/// cluster file) and the table they print.
protocol KeysCommand: Command {
    var targets: [AdminTarget] { get }
    var json: Bool { get }
    /// The request each node is sent.
    var method: String { get }
    var path: String { get }
    var body: JSONValue? { get }
}

extension KeysCommand {
    static var targetHelp: String {
        """
          --admin HOST:PORT    the node's admin address
          --config FILE        a cluster file: every node of it, in order (or the one --node names)
          --node NAME          the node of --config to ask
          --timeout SECONDS    seconds to wait for each answer (default 3)
          --token-file FILE    the admin API's bearer token (default: each node's admin_token_file)
          --json               print each node's JSON answer, one per line
        """
    }

    static var targetOptions: [OptionSpec] { AdminTarget.options + [.flag("json")] }

    var body: JSONValue? { nil }

    /// Asks every target in turn: one line per node (or its JSON answer); exits 1 when any node
    /// refused or did not answer, after asking the others.
    func run() async throws(CommandFailure) {
        var rows = [["NODE", "PRIMARY", "KEYS", "RESULT"]]
        var failures: [String] = []
        for target in targets {
            let name = target.node ?? target.admin ?? "?"
            do throws(CommandFailure) {
                let (raw, value) = try target.json(method, path, body: body)
                if json {
                    print(String(decoding: raw, as: UTF8.self))
                    continue
                }
                let keys = value["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let result = value["insecure"]?.boolValue == true ? "insecure"
                    : value["changed"]?.boolValue.map { $0 ? "changed" : "unchanged" } ?? "ok"
                rows.append([name, value["primary"]?.stringValue ?? "-", keys.isEmpty ? "-" : keys.joined(separator: ","), result])
            } catch {
                failures.append("\(name): \(error.message ?? "failed")")
                rows.append([name, "-", "-", "failed"])
            }
        }
        if !json { print(textTable(rows), terminator: "") }
        guard failures.isEmpty else { throw CommandFailure(status: 1, failures.joined(separator: "\n")) }
    }
}

/// `chorus keys list`.
struct KeysListCommand: KeysCommand {
    static let words = ["keys", "list"]
    static let summary = "Show the key ids each node holds and the primary it seals with (GET /v1/keys)."
    static let help = """
        Usage: chorus keys list (--config FILE [--node NAME] | --admin HOST:PORT) [--json]

        Prints, per node, the id (8 hex digits of its SHA-256) of the primary key and of every
        key it opens with. Keys themselves never leave a node through the API.

        Options:
        \(targetHelp)
        """
    static let options = targetOptions
    let targets: [AdminTarget]
    let json: Bool
    let method = "GET"
    let path = "/v1/keys"

    init(_ arguments: Arguments) throws(UsageError) {
        targets = try AdminTarget.everyNode(arguments)
        json = arguments.flag("json")
    }
}

/// One step of a rotation: `chorus keys install|use|remove KEY`.
protocol RotationStep {
    static var word: String { get }
    static var summary: String { get }
    /// What the step does to one node's keyring.
    static var effect: String { get }
}

enum InstallStep: RotationStep {
    static let word = "install"
    static let summary = "Add a key the nodes open traffic with (rotation step 1)."
    static let effect = "Adds KEY to the keyring: the node opens what is sealed with it."
}

enum UseStep: RotationStep {
    static let word = "use"
    static let summary = "Seal with an installed key from now on (rotation step 2)."
    static let effect = "Makes the installed KEY the primary: the node seals with it."
}

enum RemoveStep: RotationStep {
    static let word = "remove"
    static let summary = "Remove a key that is no longer primary (rotation step 3)."
    static let effect = "Removes KEY, which must not be the primary: what is sealed with it no longer opens."
}

/// `chorus keys install|use|remove KEY` on one node or every node of a cluster file
/// (`POST /v1/keys/install|use|remove`).
struct KeysChangeCommand<Step: RotationStep>: KeysCommand {
    static var words: [String] { ["keys", Step.word] }
    static var summary: String { Step.summary }
    static var help: String {
        """
        Usage: chorus keys \(Step.word) KEY (--config FILE [--node NAME] | --admin HOST:PORT) [--json]

        \(Step.effect)

        A rotation without downtime: install the new key on every node, then use it on every
        node, then remove the old one from every node. With --config alone each step runs on
        every node of the file; a node that fails is reported and the others still run (exit 1).

        Options:
        \(targetHelp)
        """
    }
    static var options: [OptionSpec] { targetOptions }
    static var positionals: [String] { ["KEY"] }
    let targets: [AdminTarget]
    let json: Bool
    let method = "POST"
    var path: String { "/v1/keys/\(Step.word)" }
    let body: JSONValue?

    init(_ arguments: Arguments) throws(UsageError) {
        targets = try AdminTarget.everyNode(arguments)
        json = arguments.flag("json")
        body = ["key": .string(arguments.positional[0])]
    }
}
