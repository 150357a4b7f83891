/// A configuration that cannot be used: names the field (as a path, `nodes[1].bind`) and says
/// what was expected, so the operator can fix the file without reading code.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is: a file, a field path, or both.
    public let field: String
    /// What was expected there, and what was found.
    public let problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "config error at \(field): \(problem)" }
}
