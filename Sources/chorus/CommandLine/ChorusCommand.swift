import ArgumentParser
import Chorus

/// `chorus`: run a node and talk to running ones.
@main
struct ChorusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "Chorus: gossip membership, process groups, broadcast and replicated stores on libuv.",
        subcommands: [AgentCommand.self, MembersCommand.self, ConfigCommand.self, VersionCommand.self]
    )
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    func run() { print("chorus \(ClusterNode.version)") }
}
