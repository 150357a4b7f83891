/// The options a command accepts: `--name VALUE` (or `--name=VALUE`), repeatable or not, and
/// `--flag` switches. A command's help text is written next to its options.
struct OptionSpec: Sendable {
    enum Kind: Sendable { case value, repeatable, flag }

    let name: String
    let kind: Kind

    static func value(_ name: String) -> OptionSpec { OptionSpec(name: name, kind: .value) }
    static func repeatable(_ name: String) -> OptionSpec { OptionSpec(name: name, kind: .repeatable) }
    static func flag(_ name: String) -> OptionSpec { OptionSpec(name: name, kind: .flag) }
}

/// A command line that cannot be run as written: the message says what to change. Exits 2.
struct UsageError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A command that ended without success: `message` (if any) goes to standard error, then the
/// process exits with `status`.
struct CommandFailure: Error, Sendable {
    let status: Int32
    let message: String?

    init(status: Int32, _ message: String? = nil) {
        self.status = status
        self.message = message
    }
}

/// Command-line arguments after the subcommand, read against the command's `OptionSpec`s and
/// the names of its positional arguments (all required, in order).
/// Unknown options, a missing value, an option given twice, a missing positional argument and
/// stray words are refused.
struct Arguments: Sendable {
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    /// The words that are not options, in order, one for each positional name.
    private(set) var positional: [String] = []
    /// `-h` or `--help` was given.
    private(set) var wantsHelp = false

    /// Gives option `name` the one value `value` (a command run once per node sets `node`).
    mutating func set(_ name: String, to value: String) {
        values[name] = [value]
    }

    init(_ words: ArraySlice<String>, options: [OptionSpec], positionals: [String] = []) throws(UsageError) {
        let byName = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            index += 1
            if word == "-h" || word == "--help" {
                wantsHelp = true
                continue
            }
            guard word.hasPrefix("--"), word.count > 2 else {
                guard positional.count < positionals.count, !word.hasPrefix("-") else {
                    throw UsageError("unexpected argument \"\(word)\"")
                }
                positional.append(word)
                continue
            }
            let body = word.dropFirst(2)
            let name: String
            var inlineValue: String?
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                inlineValue = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
            }
            guard let spec = byName[name] else {
                let known = options.map { "--\($0.name)" }.sorted().joined(separator: ", ")
                throw UsageError("unknown option --\(name) (options: \(known), --help)")
            }
            switch spec.kind {
            case .flag:
                guard inlineValue == nil else { throw UsageError("--\(name) takes no value") }
                guard !flags.contains(name) else { throw UsageError("--\(name) is given twice") }
                flags.insert(name)
            case .value, .repeatable:
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < words.endIndex else { throw UsageError("--\(name) needs a value") }
                    value = words[index]
                    index += 1
                }
                if spec.kind == .value, values[name] != nil { throw UsageError("--\(name) is given twice") }
                values[name, default: []].append(value)
            }
        }
        if !wantsHelp && positional.count < positionals.count {
            throw UsageError("missing \(positionals[positional.count...].joined(separator: " "))")
        }
    }

    /// The value of a `.value` option, if given.
    func value(_ name: String) -> String? { values[name]?.last }

    /// Every value of a `.repeatable` option, in order.
    func all(_ name: String) -> [String] { values[name] ?? [] }

    /// Whether a `.flag` option was given.
    func flag(_ name: String) -> Bool { flags.contains(name) }

    /// The value of a `.value` option that must be given.
    func required(_ name: String, _ hint: String) throws(UsageError) -> String {
        guard let value = value(name) else { throw UsageError("--\(name) \(hint) is required") }
        return value
    }
}
