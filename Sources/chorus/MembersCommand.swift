import Chorus
import ChorusAdmin
import ChorusLoop

/// `chorus members`: the members a running node knows, from its admin API.
struct MembersCommand: Command {
    static let words = ["members"]
    static let summary = "Show the members a running node knows (GET /v1/members)."
    static let help = """
        Usage: chorus members --admin HOST:PORT [--json] [--timeout SECONDS]
               chorus members --config FILE --node NAME [--json] [--timeout SECONDS]

        Prints the members the node knows as a table (NAME UID ADDRESS STATUS INCARNATION META),
        or with --json the list as the API gives it. Exits 1 when the node does not answer.

        Options:
          --admin HOST:PORT    the node's admin address
          --config FILE        a cluster file (YAML); with --node, finds the admin address
          --node NAME          the node of --config to ask
          --json               print the JSON list as the API gives it
          --timeout SECONDS    seconds to wait for the answer (default 3)
        """
    static let options: [OptionSpec] = [.value("admin"), .value("config"), .value("node"), .flag("json"), .value("timeout")]

    let admin: String?
    let config: String?
    let node: String?
    let json: Bool
    let timeout: Double

    init(_ arguments: Arguments) throws(UsageError) {
        admin = arguments.value("admin")
        config = arguments.value("config")
        node = arguments.value("node")
        json = arguments.flag("json")
        let timeoutText = arguments.value("timeout") ?? "3"
        guard let timeout = Double(timeoutText), timeout > 0, timeout <= 3600 else {
            throw UsageError("--timeout must be a number of seconds above 0, not \"\(timeoutText)\"")
        }
        self.timeout = timeout
        guard admin != nil || (config != nil && node != nil) else {
            throw UsageError("give --admin HOST:PORT, or --config FILE and --node NAME")
        }
    }

    func run() async throws(CommandFailure) {
        let address = try adminAddress()
        let body: [UInt8]
        do {
            let answer = try AdminHTTPClient.request("GET", "/v1/members", to: address, timeout: timeout)
            guard answer.status == 200 else {
                throw AdminHTTPClient.Failure(description: "HTTP \(answer.status): \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
            }
            body = answer.body
        } catch {
            throw CommandFailure(status: 1, "no answer from the admin API at \(address): \(error)")
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        let list: JSONValue
        do {
            list = try JSONParser.parse(body)
        } catch {
            throw CommandFailure(status: 1, "\(address) answered something that is not JSON: \(error)")
        }
        let items = list.arrayValue ?? []
        let members = items.compactMap(MemberResponse.init(json:))
        guard list.arrayValue != nil, members.count == items.count else {
            throw CommandFailure(status: 1, "\(address) answered something that is not a member list: \(String(decoding: body.prefix(300), as: UTF8.self))")
        }
        print(Self.table(members), terminator: "")
    }

    /// The address given, or the one the cluster file gives the node; a wrong one exits 2.
    func adminAddress() throws(CommandFailure) -> SocketAddress {
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

    /// NAME UID ADDRESS STATUS INCARNATION META, columns as wide as their longest cell.
    static func table(_ members: [MemberResponse]) -> String {
        var rows = [["NAME", "UID", "ADDRESS", "STATUS", "INCARNATION", "META"]]
        for member in members {
            var meta = member.metaEncoding == "base64" ? "base64:\(member.meta)" : member.meta
            meta = meta.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n")
            if meta.count > 40 { meta = meta.prefix(39) + "…" }
            rows.append([member.name, member.uid, member.address, member.status, "\(member.incarnation)", meta.isEmpty ? "-" : meta])
        }
        let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == 5 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
