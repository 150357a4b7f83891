import Chorus
import ChorusAdmin

/// What the stores commands (`chorus epochs`, `shapes`, `process-status`, `lsn`) share: each
/// asks one route of a running node's admin API, prints the API's JSON with `--json`, or else a
/// readable line. An error answer exits 1 with the API's code and message (2 when the API found
/// the request bad, a 400), as `AdminTarget.json` says.
protocol StoresCommand: Command {
    var target: AdminTarget { get }
    var json: Bool { get }
}

extension StoresCommand {
    /// The options every stores command takes.
    static var storeOptions: [OptionSpec] { AdminTarget.options + [.flag("json")] }

    /// The help lines of `storeOptions`.
    static var storeOptionsHelp: String {
        "  --json               print the JSON the API gives\n" + AdminTarget.help()
    }

    /// Asks `method path`; with `--json` prints the answer as it came and returns nil, else
    /// returns it parsed.
    func call(_ method: String, _ path: String, body: JSONValue? = nil, extraSeconds: Double = 0) throws(CommandFailure) -> JSONValue? {
        let (raw, value) = try target.json(method, path, body: body, extraSeconds: extraSeconds)
        if json {
            print(String(decoding: raw, as: UTF8.self))
            return nil
        }
        return value
    }

    /// `answer` read as the API writes it, or exit 1 when it is not.
    func expect<T>(_ answer: T?, _ value: JSONValue) throws(CommandFailure) -> T {
        guard let answer else {
            throw CommandFailure(status: 1, "the admin API answered something unexpected: \(value.text.prefix(300))")
        }
        return answer
    }
}

/// A name or value as one path segment or query value.
func segment(_ text: String) -> String { AdminRouter.percentEncoded(text) }

/// ` (lsn X)`, or nothing for no write.
func lsnNote(_ lsn: String?) -> String { lsn.map { " (lsn \($0))" } ?? "" }

/// A name in a message: quoted, control characters escaped, long names cut.
func quoted(_ name: String) -> String { "\"" + GroupsCommand.cell(name) + "\"" }
