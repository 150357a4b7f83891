import Chorus
import ChorusAdmin

/// `chorus groups`: the process groups of a scope, or the members of one group, as a running
/// node knows them, from its admin API.
struct GroupsCommand: Command {
    static let words = ["groups"]
    static let summary = "Show the groups of a scope, or one group's members (GET /v1/scopes/...)."
    static let help = """
        Usage: chorus groups --scope SCOPE [--group GROUP] [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Without --group, prints the groups of the scope with a member anywhere in the cluster,
        one row each: GROUP, MEMBERS (joins in the cluster) and LOCAL (joins on the node asked).
        With --group, prints that group's members, one row each: MEMBER, JOINS (a member may
        join several times) and LOCAL (yes for a member of the node asked). With --json, prints
        the API's answer instead (GET /v1/scopes/{scope}/groups, or .../groups/{group}).
        Emitter groups are in the scope "emitters", topic subscribers in the scope "topics".
        Exits 1 when the node does not answer.

        Options:
          --scope SCOPE        the scope to list
          --group GROUP        list the members of this group of the scope
          --json               print the JSON the API gives
        \(AdminTarget.help())
        """
    static let options: [OptionSpec] = AdminTarget.options + [.value("scope"), .value("group"), .flag("json")]

    let target: AdminTarget
    let scope: String
    let group: String?
    let json: Bool

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        scope = try arguments.required("scope", "SCOPE")
        group = arguments.value("group")
        json = arguments.flag("json")
        guard !scope.isEmpty, group?.isEmpty != true else { throw UsageError("--scope and --group take a non-empty name") }
    }

    func run() async throws(CommandFailure) {
        let scopePath = "/v1/scopes/\(AdminRouter.percentEncoded(scope))/groups"
        if let group {
            let (raw, value) = try target.json("GET", scopePath + "/" + AdminRouter.percentEncoded(group))
            if json {
                print(String(decoding: raw, as: UTF8.self))
                return
            }
            print(Self.memberTable(try Self.read(GroupResponse(json: value), raw)), terminator: "")
            return
        }
        let (raw, value) = try target.json("GET", scopePath)
        if json {
            print(String(decoding: raw, as: UTF8.self))
            return
        }
        let scope = try Self.read(ScopeResponse(json: value), raw)
        var groups: [(name: String, members: GroupResponse)] = []
        for name in scope.groups {
            let (raw, value) = try target.json("GET", scopePath + "/" + AdminRouter.percentEncoded(name))
            groups.append((name, try Self.read(GroupResponse(json: value), raw)))
        }
        print(Self.groupTable(groups), terminator: "")
    }

    static func read<T>(_ value: T?, _ raw: [UInt8]) throws(CommandFailure) -> T {
        guard let value else {
            throw CommandFailure(status: 1, "the admin API answered something unexpected: \(String(decoding: raw.prefix(300), as: UTF8.self))")
        }
        return value
    }

    /// GROUP MEMBERS LOCAL, one row per group.
    static func groupTable(_ groups: [(name: String, members: GroupResponse)]) -> String {
        textTable([["GROUP", "MEMBERS", "LOCAL"]] + groups.map { [cell($0.name), "\($0.members.members.count)", "\($0.members.localMembers.count)"] })
    }

    /// MEMBER JOINS LOCAL, one row per distinct member, in id order.
    static func memberTable(_ group: GroupResponse) -> String {
        var joins: [String: Int] = [:]
        for member in group.members { joins[member, default: 0] += 1 }
        let local = Set(group.localMembers)
        let rows = group.members.reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }.map { member in
            [member, "\(joins[member]!)", local.contains(member) ? "yes" : "no"]
        }
        return textTable([["MEMBER", "JOINS", "LOCAL"]] + rows)
    }

    /// A name as one table cell: control characters escaped, long names cut.
    static func cell(_ name: String) -> String {
        var text = name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
        if text.count > 60 { text = text.prefix(59) + "…" }
        return text
    }
}
