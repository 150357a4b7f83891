import Chorus
import ChorusAdmin
import ChorusLoop

/// The running node a command asks through its admin API: `--admin HOST:PORT`, or
/// `--config FILE --node NAME` to find the address in a cluster file, and `--timeout SECONDS`.
/// The bearer token it presents is the one in `--token-file FILE`, else the one in the node's
/// `admin_token_file` when the node comes from `--config`.
struct AdminTarget: Sendable {
    static let options: [OptionSpec] = [.value("admin"), .value("config"), .value("node"), .value("timeout"), .value("token-file")]

    /// The help lines of `options`, their descriptions starting at `column`.
    static func help(column: Int = 23) -> String {
        [("--admin HOST:PORT", "the node's admin address"),
         ("--config FILE", "a cluster file (YAML); with --node, finds the admin address"),
         ("--node NAME", "the node of --config to ask"),
         ("--timeout SECONDS", "seconds to wait for the answer (default 3)"),
         ("--token-file FILE", "the admin API's bearer token (default: the node's admin_token_file)")]
            .map { option, text in "  " + option + String(repeating: " ", count: max(2, column - 2 - option.count)) + text }
            .joined(separator: "\n")
    }

    let admin: String?
    let config: String?
    let node: String?
    let timeout: Double
    let tokenFile: String?

    init(_ arguments: Arguments) throws(UsageError) {
        admin = arguments.value("admin")
        config = arguments.value("config")
        node = arguments.value("node")
        tokenFile = arguments.value("token-file")
        let timeoutText = arguments.value("timeout") ?? "3"
        guard let timeout = Double(timeoutText), timeout > 0, timeout <= 3600 else {
            throw UsageError("--timeout must be a number of seconds above 0, not \"\(timeoutText)\"")
        }
        self.timeout = timeout
        guard admin != nil || (config != nil && node != nil) else {
            throw UsageError("give --admin HOST:PORT, or --config FILE and --node NAME")
        }
    }

    /// The target of each node of `config`, in the file's order (a command for the whole
    /// cluster); `--node` picks one, `--admin` names one outside any file.
    static func everyNode(_ arguments: Arguments) throws(UsageError) -> [AdminTarget] {
        guard let config = arguments.value("config"), arguments.value("node") == nil, arguments.value("admin") == nil else {
            return [try AdminTarget(arguments)]
        }
        let file: ClusterConfig
        do { file = try ClusterConfig.load(path: config) } catch { throw UsageError("\(error)") }
        return try file.nodes.map { node throws(UsageError) in
            var single = arguments
            single.set("node", to: node.name)
            return try AdminTarget(single)
        }
    }

    /// The address given, or the one the cluster file gives the node; a wrong one exits 2.
    func address() throws(CommandFailure) -> SocketAddress {
        if let admin {
            do { return try SocketAddress(admin) } catch { throw CommandFailure(status: 2, "--admin: \(error)") }
        }
        guard let config, let node else { throw CommandFailure(status: 2, "no admin address") }
        let cluster = try loadOrExit(config)
        do {
            return try cluster.node(named: node).admin
        } catch {
            throw CommandFailure(status: 2, "\(error)")
        }
    }

    /// The token to present: `--token-file`'s, else the node's `admin_token_file` from
    /// `--config`; nil when neither names one. A file that cannot be read exits 2.
    func token() throws(CommandFailure) -> AdminToken? {
        var path = tokenFile
        if path == nil, let config, let node {
            let cluster = try loadOrExit(config)
            do {
                path = cluster.adminTokenFile(of: try cluster.node(named: node))
            } catch {
                throw CommandFailure(status: 2, "\(error)")
            }
        }
        do {
            return try path.map { path throws(ConfigError) in try AdminToken(file: path) }
        } catch {
            throw CommandFailure(status: 2, "\(error)")
        }
    }

    /// Sends `method path` (with a JSON `body`) and returns the answer, whatever its status;
    /// waits `extraSeconds` more than `--timeout`. No answer exits 1 with the reason.
    func request(_ method: String, _ path: String, body: JSONValue? = nil,
                 extraSeconds: Double = 0) throws(CommandFailure) -> (address: SocketAddress, answer: AdminHTTPClient.Answer) {
        let address = try address()
        let headers = try token().map { [("Authorization", $0.authorization)] } ?? []
        do {
            return (address, try AdminHTTPClient.request(method, path, to: address, body: body?.serialized(), headers: headers,
                                                         timeout: timeout + extraSeconds))
        } catch {
            throw CommandFailure(status: 1, "no answer from the admin API at \(address): \(error)")
        }
    }

    /// The JSON of a 2xx answer to `method path`. An error answer exits 1 with the API's code
    /// and message, or 2 when the API found the request bad (400): the command line asked for
    /// something invalid.
    func json(_ method: String, _ path: String, body: JSONValue? = nil, extraSeconds: Double = 0) throws(CommandFailure) -> (raw: [UInt8], value: JSONValue) {
        let (address, answer) = try request(method, path, body: body, extraSeconds: extraSeconds)
        let value = try? JSONParser.parse(answer.body)
        guard (200..<300).contains(answer.status) else {
            let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
            let reason = value.flatMap { value in
                value["error"]?.stringValue.map { "\(value["message"]?.stringValue ?? $0) (\($0), HTTP \(answer.status))" }
            } ?? "HTTP \(answer.status): \(text)"
            throw CommandFailure(status: answer.status == 400 ? 2 : 1, reason)
        }
        guard let value else {
            throw CommandFailure(status: 1, "\(address) answered something that is not JSON: \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
        }
        return (answer.body, value)
    }
}
