import Chorus
#if canImport(Glibc)
import Glibc
#endif

/// `chorus config nodes --config FILE`: the nodes of a cluster file, one per line, for scripts.
struct ConfigNodesCommand: Command {
    static let words = ["config", "nodes"]
    static let summary = "Print a cluster file's nodes: NAME, BIND, ADMIN, DATA_DIR, ADMIN_TOKEN_FILE (tab-separated)."
    static let help = """
        Usage: chorus config nodes --config FILE

        Prints each node of the cluster file as
        NAME<TAB>BIND<TAB>ADMIN<TAB>DATA_DIR<TAB>ADMIN_TOKEN_FILE, with data_dir and the token
        file made absolute; ADMIN_TOKEN_FILE is - when the node's admin API asks for no token.
        Exits 2 with the error if the file is wrong.

        Options:
          --config FILE   a cluster file (YAML)
        """
    static let options: [OptionSpec] = [.value("config")]

    let config: String

    init(_ arguments: Arguments) throws(UsageError) {
        config = try arguments.required("config", "FILE")
    }

    func run() async throws(CommandFailure) {
        let cluster = try loadOrExit(config)
        for node in cluster.nodes {
            let tokenFile = cluster.adminTokenFile(of: node).map(absolutePath) ?? "-"
            print([node.name, "\(node.bind)", "\(node.admin)", absolutePath(node.dataDir), tokenFile].joined(separator: "\t"))
        }
    }
}

/// `chorus config check --config FILE`: validates a cluster file.
struct ConfigCheckCommand: Command {
    static let words = ["config", "check"]
    static let summary = "Validate a cluster file; exit 2 with the error if it is wrong."
    static let help = """
        Usage: chorus config check --config FILE

        Reads and validates the cluster file; prints a one-line summary, or the error and exits 2.

        Options:
          --config FILE   a cluster file (YAML)
        """
    static let options: [OptionSpec] = [.value("config")]

    let config: String

    init(_ arguments: Arguments) throws(UsageError) {
        config = try arguments.required("config", "FILE")
    }

    func run() async throws(CommandFailure) {
        let cluster = try loadOrExit(config)
        print("\(config): cluster \(cluster.cluster), \(cluster.nodes.count) nodes, profile \(cluster.profile.rawValue): ok")
    }
}

/// Loads a cluster file, or fails with its error and exit status 2.
func loadOrExit(_ path: String) throws(CommandFailure) -> ClusterConfig {
    do {
        return try ClusterConfig.load(path: path)
    } catch {
        throw CommandFailure(status: 2, "\(error)")
    }
}

/// `path` made absolute against the current directory, without `.` and `..` components.
func absolutePath(_ path: String) -> String {
    var base = ""
    if !path.hasPrefix("/") {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if getcwd(&buffer, buffer.count) != nil {
            base = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
    var parts: [Substring] = []
    for part in (base + "/" + path).split(separator: "/") {
        switch part {
        case ".": continue
        case "..": _ = parts.popLast()
        default: parts.append(part)
        }
    }
    return "/" + parts.joined(separator: "/")
}
