import ArgumentParser
import Chorus
import Foundation

/// `chorus config nodes --config FILE`: the nodes of a cluster file, for scripts.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Read cluster files.", subcommands: [Nodes.self, Check.self])

    struct Nodes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each node as NAME<TAB>BIND<TAB>ADMIN<TAB>DATA_DIR (data_dir made absolute).")
        @Option(help: "A cluster file (YAML).") var config: String

        func run() throws {
            let cluster = try loadOrExit(config)
            for node in cluster.nodes {
                print([node.name, "\(node.bind)", "\(node.admin)", absolute(node.dataDir)].joined(separator: "\t"))
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a cluster file; exit 2 with the error if it is wrong.")
        @Option(help: "A cluster file (YAML).") var config: String

        func run() throws {
            let cluster = try loadOrExit(config)
            print("\(config): cluster \(cluster.cluster), \(cluster.nodes.count) nodes, profile \(cluster.profile.rawValue): ok")
        }
    }
}

/// Loads a cluster file, or prints its error to stderr and exits with status 2.
func loadOrExit(_ path: String) throws -> ClusterConfig {
    do {
        return try ClusterConfig.load(path: path)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

/// `path` resolved against the current directory.
func absolute(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardized.path
}
