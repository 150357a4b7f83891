import Chorus
#if canImport(Glibc)
import Glibc
#endif

/// A subcommand of `chorus`: its words, its options and their help, and what it does.
protocol Command {
    /// The words that select it: `["agent"]`, `["config", "nodes"]`.
    static var words: [String] { get }
    /// One line for `chorus --help`.
    static var summary: String { get }
    /// The usage text `--help` prints.
    static var help: String { get }
    static var options: [OptionSpec] { get }
    /// The names of its positional arguments, all required, in order (`STORE`, `SUBSCRIPTION`).
    static var positionals: [String] { get }

    /// Reads the parsed options; a combination that cannot run is a `UsageError`.
    init(_ arguments: Arguments) throws(UsageError)

    /// Does the work; returns normally for exit status 0.
    func run() async throws(CommandFailure)
}

extension Command {
    static var positionals: [String] { [] }
}

/// `chorus`: run a node and talk to running ones. Usage errors exit 2, failures 1.
@main
enum ChorusCommand {
    static var commands: [any Command.Type] {
        [AgentCommand.self, MembersCommand.self, TopCommand.self, GroupsCommand.self, BroadcastCommand.self,
         EpochsInitCommand.self, EpochsPutCommand.self, EpochsGetCommand.self, EpochsDeleteCommand.self, EpochsRemoveClientCommand.self,
         ShapesAddCommand.self, ShapesListCommand.self, ShapesGetCommand.self, ShapesRemoveCommand.self,
         ShapesSetOffsetCommand.self, ShapesSetXminCommand.self, ShapesMarkStartedCommand.self,
         ProcessStatusProcessedCommand.self, ProcessStatusListCommand.self, ProcessStatusGetCommand.self, ProcessStatusResetCommand.self,
         LSNShowCommand.self, LSNReplicatedCommand.self, LSNAwaitCommand.self,
         KeysGenerateCommand.self, KeysListCommand.self, KeysChangeCommand<InstallStep>.self, KeysChangeCommand<UseStep>.self, KeysChangeCommand<RemoveStep>.self,
         ConfigNodesCommand.self, ConfigCheckCommand.self, VersionCommand.self]
    }

    static var overview: String {
        let lines = commands.map { command in
            let words = command.words.joined(separator: " ")
            return "  " + words + String(repeating: " ", count: max(2, 16 - words.count)) + command.summary
        }
        return """
            Chorus: gossip membership, process groups, broadcast and replicated stores on libuv.

            Usage: chorus COMMAND [OPTIONS]

            Commands:
            \(lines.joined(separator: "\n"))

            `chorus COMMAND --help` describes a command.
            """
    }

    static func main() {
        // A write to a closed pipe or socket fails with EPIPE instead of ending the process: an
        // agent whose log reader went away must still leave the cluster on SIGTERM.
        signal(SIGPIPE, SIG_IGN)
        // A signal mask inherited from the parent (Foundation's `Process` passes on its thread's,
        // with SIGTERM blocked) would keep SIGTERM and SIGINT pending for ever: every thread starts
        // from this one's mask, so it starts with nothing blocked.
        var nothing = sigset_t()
        sigemptyset(&nothing)
        pthread_sigmask(SIG_SETMASK, &nothing, nil)
        let words = CommandLine.arguments.dropFirst()
        Task.detached {
            let status = await run(words)
            fflush(nil)
            exit(status)
        }
        // The command runs on Swift's cooperative pool and ends the process itself; the main
        // thread only sleeps. An `async` main would park it in `dispatch_main`, whose
        // `pthread_exit` unwinds the main thread's stack through the binary's unwind tables
        // and keeps about 0.6 MB of them resident in every agent for nothing.
        while true { pause() }
    }

    /// Runs the command `words` names; returns the exit status.
    static func run(_ words: ArraySlice<String>) async -> Int32 {
        guard let first = words.first else {
            printError("which command? (chorus --help lists them)\n\n\(overview)")
            return 2
        }
        if first == "help" {
            // `chorus help agent` is `chorus agent --help`.
            return words.count == 1 ? help(overview) : await run(words.dropFirst() + ["--help"])
        }
        if first == "--help" || first == "-h" { return help(overview) }
        let match = commands
            .filter { words.starts(with: $0.words) }
            .max { $0.words.count < $1.words.count }
        guard let command = match else {
            let group = commands.filter { $0.words.first == first }
            guard !group.isEmpty else { return fail(status: 2, "unknown command \"\(first)\" (see chorus --help)") }
            let lines = group.map { "  chorus \($0.words.joined(separator: " "))  \($0.summary)" }.joined(separator: "\n")
            if words.dropFirst().allSatisfy({ $0 == "--help" || $0 == "-h" }) && words.count > 1 {
                return help("Commands of chorus \(first):\n\(lines)")
            }
            return fail(status: 2, "\"chorus \(words.joined(separator: " "))\" is not a command; chorus \(first) has:\n\(lines)")
        }
        do {
            let arguments = try Arguments(words.dropFirst(command.words.count), options: command.options,
                                          positionals: command.positionals)
            if arguments.wantsHelp {
                print(command.help)
                return 0
            }
            try await command.init(arguments).run()
            return 0
        } catch let error as UsageError {
            return fail(status: 2, "\(error)\n(chorus \(command.words.joined(separator: " ")) --help shows the options)")
        } catch let failure as CommandFailure {
            if let message = failure.message { printError(message) }
            return failure.status
        } catch {
            return fail(status: 1, "\(error)")
        }
    }

    static func help(_ text: String) -> Int32 {
        print(text)
        return 0
    }

    static func fail(status: Int32, _ message: String) -> Int32 {
        printError(message)
        return status
    }
}

/// Writes `error: <message>` and a newline to standard error.
func printError(_ message: String) {
    fflush(nil)
    let bytes = Array("error: \(message)\n".utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return }
        written += count
    }
}

/// `chorus version`.
struct VersionCommand: Command {
    static let words = ["version"]
    static let summary = "Print the version."
    static let help = "Usage: chorus version\n\nPrints the version of this chorus binary."
    static let options: [OptionSpec] = []

    init(_ arguments: Arguments) throws(UsageError) {}

    func run() async throws(CommandFailure) {
        print("chorus \(ClusterNode.version)")
    }
}
