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
        \(AdminTarget.help())
          --json               print the JSON list as the API gives it
        """
    static let options: [OptionSpec] = AdminTarget.options + [.flag("json")]

    let target: AdminTarget
    let json: Bool

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
    }

    func run() async throws(CommandFailure) {
        let (address, answer) = try target.request("GET", "/v1/members")
        guard answer.status == 200 else {
            throw CommandFailure(status: 1, "the admin API at \(address) answered HTTP \(answer.status): \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
        }
        let body = answer.body
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

    /// NAME UID ADDRESS STATUS INCARNATION META, columns as wide as their longest cell.
    static func table(_ members: [MemberResponse]) -> String {
        var rows = [["NAME", "UID", "ADDRESS", "STATUS", "INCARNATION", "META"]]
        for member in members {
            var meta = member.metaEncoding == "base64" ? "base64:\(member.meta)" : member.meta
            meta = meta.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n")
            if meta.count > 40 { meta = meta.prefix(39) + "…" }
            rows.append([member.name, member.uid, member.address, member.status, "\(member.incarnation)", meta.isEmpty ? "-" : meta])
        }
        return textTable(rows)
    }
}

/// Rows as text columns, each as wide as its longest cell, two spaces apart; the last column is
/// not padded.
func textTable(_ rows: [[String]]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
        }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
}
