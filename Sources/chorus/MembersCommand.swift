import ArgumentParser
import Chorus
import ChorusAdmin
import ChorusLoop
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `chorus members`: the members a running node knows, from its admin API.
struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members",
        abstract: "Show the members a running node knows (GET /v1/members).",
        discussion: """
            chorus members --admin 127.0.0.1:8301
            chorus members --config cluster-configs/local-3.yaml --node n1 --json
            Exits 1 when the node does not answer.
            """)

    @Option(help: "The node's admin address, HOST:PORT.") var admin: String?
    @Option(help: "A cluster file (YAML); with --node, finds the admin address.") var config: String?
    @Option(help: "The node of --config to ask.") var node: String?
    @Flag(help: "Print the JSON list as the API gives it.") var json = false
    @Option(help: "Seconds to wait for the answer.") var timeout: Double = 3

    func run() async throws {
        let address = try adminAddress()
        let body: Data
        do {
            body = try await Self.fetch("http://\(address)/v1/members", timeout: timeout)
        } catch {
            FileHandle.standardError.write(Data("error: no answer from the admin API at \(address): \(error)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        let members: [MemberResponse]
        do {
            members = try JSONDecoder().decode([MemberResponse].self, from: body)
        } catch {
            FileHandle.standardError.write(Data("error: \(address) answered something that is not a member list: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(Self.table(members), terminator: "")
    }

    func adminAddress() throws -> String {
        if let admin {
            do { return "\(try SocketAddress(admin))" } catch { throw ValidationError("--admin: \(error)") }
        }
        guard let config, let node else {
            throw ValidationError("give --admin HOST:PORT, or --config FILE and --node NAME")
        }
        let cluster = try loadOrExit(config)
        do {
            return "\(try cluster.node(named: node).admin)"
        } catch {
            throw ValidationError("\(error)")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func fetch(_ url: String, timeout: Double) async throws -> Data {
        guard let url = URL(string: url) else { throw Failure(description: "bad URL \(url)") }
        var request = URLRequest(url: url)
        request.timeoutInterval = timeout
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw Failure(description: "not an HTTP answer") }
        guard http.statusCode == 200 else {
            throw Failure(description: "HTTP \(http.statusCode): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return data
    }

    /// NAME UID ADDRESS STATUS INCARNATION META, columns as wide as their longest cell.
    static func table(_ members: [MemberResponse]) -> String {
        var rows = [["NAME", "UID", "ADDRESS", "STATUS", "INCARNATION", "META"]]
        for member in members {
            var meta = member.metaEncoding == "base64" ? "base64:\(member.meta)" : member.meta
            meta = meta.replacingOccurrences(of: "\n", with: "\\n")
            if meta.count > 40 { meta = meta.prefix(39) + "…" }
            rows.append([member.name, member.uid, member.address, member.status, "\(member.incarnation)", meta.isEmpty ? "-" : meta])
        }
        let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == 5 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
