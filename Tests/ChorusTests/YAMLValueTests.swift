@testable import Chorus
import Testing

/// Cluster files are read by libyaml into `YAMLValue`s: the YAML 1.2 core schema, no surprises.
@Suite("YAML documents (libyaml)")
struct YAMLValueTests {
    @Test("given block and flow styles, comments, quotes and an alias, then every value is read")
    func styles() throws {
        let value = try YAMLValue.parse("""
            # a comment
            name: n1            # after a value
            quoted: "7301"
            single: 'it''s'
            flow: {a: 1, b: [x, "y"]}
            list:
              - &first {port: 7301}
              - *first
            empty:
            """)
        #expect(value == .map([
            "name": .string("n1"),
            "quoted": .string("7301"),
            "single": .string("it's"),
            "flow": .map(["a": .int(1), "b": .list([.string("x"), .string("y")])]),
            "list": .list([.map(["port": .int(7301)]), .map(["port": .int(7301)])]),
            "empty": .null,
        ]))
    }

    @Test("given plain scalars, then the YAML 1.2 core schema decides their type", arguments: [
        ("true", YAMLValue.bool(true)), ("False", .bool(false)), ("yes", .string("yes")), ("no", .string("no")),
        ("off", .string("off")), ("~", .null), ("null", .null), ("42", .int(42)), ("-7", .int(-7)), ("0x1F", .int(31)),
        ("0o17", .int(15)), ("0x-1", .string("0x-1")), ("0o8", .string("0o8")), ("1.5", .double(1.5)), ("1e3", .double(1000)), (".inf", .double(.infinity)),
        ("1s", .string("1s")), ("127.0.0.1:7301", .string("127.0.0.1:7301")), ("1.2.3", .string("1.2.3")),
        ("99999999999999999999", .double(1e20)),
    ])
    func plainScalars(text: String, expected: YAMLValue) throws {
        #expect(try YAMLValue.parse("v: \(text)") == .map(["v": expected]))
    }

    @Test("given a text that is not one usable document, then the error says where and what", arguments: [
        ("a: [1, 2", "line"),
        ("a: 1\na: 2", "key \"a\" appears twice"),
        ("a: 1\n---\nb: 2", "expected one document"),
        ("a: *nowhere", "names no anchor"),
        ("\ta: 1", "line 1"),
        (String(repeating: "[", count: 70) + String(repeating: "]", count: 70), "nested deeper than 64"),
    ])
    func refused(text: String, problem: String) {
        do {
            let value = try YAMLValue.parse(text)
            Issue.record("accepted: \(value)")
        } catch {
            #expect(error.description.contains(problem), "\(error)")
        }
    }

    @Test("given an alias bomb, then reading stops at the value limit instead of exhausting memory")
    func aliasBomb() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<8 {
            let previous = "*a\(level - 1)"
            lines.append("a\(level): &a\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]")
        }
        do {
            _ = try YAMLValue.parse(lines.joined(separator: "\n"))
            Issue.record("accepted an alias bomb")
        } catch {
            #expect(error.description.contains("more than \(YAMLValue.maxValues) values"), "\(error)")
        }
    }

    @Test("given yes where a boolean is expected, then the config error says it found a string")
    func yesIsNotABoolean() {
        do {
            _ = try ClusterConfig.parse(yaml: ClusterConfigTests.valid.replacingOccurrences(of: "nodes:\n", with: "debug_faults: yes\nnodes:\n"))
            Issue.record("accepted debug_faults: yes")
        } catch {
            #expect(error.field == "debug_faults")
            #expect(error.problem == "expected true or false, found the string \"yes\"", "\(error)")
        }
    }

    @Test("given a missing file, then loading names it and the system's reason")
    func missingFile() {
        #expect(throws: ConfigError(field: "/nonexistent/cluster.yaml", problem: "cannot read the file (No such file or directory)")) {
            try ClusterConfig.load(path: "/nonexistent/cluster.yaml")
        }
    }
}
