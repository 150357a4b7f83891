import CLibYAML

/// One YAML document read into plain values, through libyaml's event parser.
///
/// Plain scalars are resolved by YAML 1.2's core schema: `null` and `~` (or nothing) are null,
/// `true` and `false` booleans, `12`, `0x1F`, `0o17` whole numbers, `1.5`, `1e3`, `.inf`
/// numbers; everything else, and every quoted scalar, is a string. So `yes`, `no`, `on` and `off`
/// stay strings (the YAML 1.1 booleans that turn a country code into `false`). Anchors and
/// aliases are followed; a key given twice in one mapping is refused, as are documents past the
/// first and nesting deeper than `maxDepth`.
enum YAMLValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([YAMLValue])
    case map([String: YAMLValue])

    /// Deepest nesting of lists and mappings a document may have.
    static let maxDepth = 64
    /// Most values a document may hold once aliases are expanded (a bound on alias bombs).
    static let maxValues = 100_000

    /// Why a text is not one usable YAML document; `description` says where (line and column,
    /// from 1) and what libyaml or the reader found.
    struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        let description: String
    }

    /// Reads `text` as one YAML document; an empty text is `.null`.
    static func parse(_ text: String) throws(ParseError) -> YAMLValue {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return .null }
        var reader = EventReader()
        return try bytes.withUnsafeBufferPointer { buffer throws(ParseError) in
            try reader.readDocument(from: buffer)
        }
    }
}

/// Walks libyaml's events into `YAMLValue`s.
private struct EventReader {
    /// Anchored values and how many values each holds (an alias counts as that many again).
    var anchors: [String: (value: YAMLValue, size: Int)] = [:]
    var valueCount = 0

    mutating func readDocument(from buffer: UnsafeBufferPointer<UInt8>) throws(YAMLValue.ParseError) -> YAMLValue {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else { throw YAMLValue.ParseError(description: "cannot start the YAML parser (out of memory)") }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)

        var events = Events(parser: parser)
        try events.expect(YAML_STREAM_START_EVENT)
        var event = try events.next()
        defer { yaml_event_delete(&event) }
        if event.type == YAML_STREAM_END_EVENT { return .null }
        guard event.type == YAML_DOCUMENT_START_EVENT else { throw events.unexpected(event) }
        let root = try readValue(&events, depth: 0)
        try events.expect(YAML_DOCUMENT_END_EVENT)
        var after = try events.next()
        defer { yaml_event_delete(&after) }
        guard after.type == YAML_STREAM_END_EVENT else {
            throw YAMLValue.ParseError(description: "\(Events.position(after.start_mark)): expected one document, found another")
        }
        return root
    }

    /// Reads the value whose first event comes next.
    mutating func readValue(_ events: inout Events, depth: Int) throws(YAMLValue.ParseError) -> YAMLValue {
        var event = try events.next()
        defer { yaml_event_delete(&event) }
        return try readValue(starting: &event, events: &events, depth: depth)
    }

    mutating func readValue(starting event: inout yaml_event_t, events: inout Events, depth: Int) throws(YAMLValue.ParseError) -> YAMLValue {
        let countBefore = valueCount
        try count(1, at: event.start_mark)
        let value: YAMLValue
        let anchor: UnsafeMutablePointer<yaml_char_t>?
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let target = anchors[name] else {
                throw YAMLValue.ParseError(description: "\(Events.position(event.start_mark)): alias *\(name) names no anchor before it")
            }
            try count(target.size - 1, at: event.start_mark)
            return target.value
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let tag = scalar.tag.map { String(cString: $0) }
            if scalar.style == YAML_PLAIN_SCALAR_STYLE && tag == nil {
                value = Self.resolve(plain: text)
            } else {
                value = .string(text)
            }
            anchor = scalar.anchor
        case YAML_SEQUENCE_START_EVENT:
            try Self.checkDepth(depth, at: event.start_mark)
            anchor = event.data.sequence_start.anchor
            var items: [YAMLValue] = []
            while true {
                var next = try events.next()
                defer { yaml_event_delete(&next) }
                if next.type == YAML_SEQUENCE_END_EVENT { break }
                items.append(try readValue(starting: &next, events: &events, depth: depth + 1))
            }
            value = .list(items)
        case YAML_MAPPING_START_EVENT:
            try Self.checkDepth(depth, at: event.start_mark)
            anchor = event.data.mapping_start.anchor
            var entries: [String: YAMLValue] = [:]
            while true {
                var keyEvent = try events.next()
                defer { yaml_event_delete(&keyEvent) }
                if keyEvent.type == YAML_MAPPING_END_EVENT { break }
                let keyMark = keyEvent.start_mark
                let key: String
                switch try readValue(starting: &keyEvent, events: &events, depth: depth + 1) {
                case .string(let text): key = text
                case .int(let number): key = String(number)
                case .bool(let flag): key = String(flag)
                default:
                    throw YAMLValue.ParseError(description: "\(Events.position(keyMark)): a mapping key must be a scalar")
                }
                guard entries[key] == nil else {
                    throw YAMLValue.ParseError(description: "\(Events.position(keyMark)): key \"\(key)\" appears twice in one mapping")
                }
                entries[key] = try readValue(&events, depth: depth + 1)
            }
            value = .map(entries)
        default:
            throw events.unexpected(event)
        }
        if let anchor { anchors[String(cString: anchor)] = (value, valueCount - countBefore) }
        return value
    }

    mutating func count(_ values: Int, at mark: yaml_mark_t) throws(YAMLValue.ParseError) {
        valueCount += values
        guard valueCount <= YAMLValue.maxValues else {
            throw YAMLValue.ParseError(description: "\(Events.position(mark)): more than \(YAMLValue.maxValues) values")
        }
    }

    static func checkDepth(_ depth: Int, at mark: yaml_mark_t) throws(YAMLValue.ParseError) {
        guard depth < YAMLValue.maxDepth else {
            throw YAMLValue.ParseError(description: "\(Events.position(mark)): nested deeper than \(YAMLValue.maxDepth) levels")
        }
    }

    /// YAML 1.2 core schema for an untagged plain scalar.
    static func resolve(plain text: String) -> YAMLValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        if let number = integer(text) { return .int(number) }
        if isFloat(text), let number = Double(text) { return .double(number) }
        return .string(text)
    }

    /// `[-+]?[0-9]+`, `0x[0-9a-fA-F]+` or `0o[0-7]+`, within `Int`.
    static func integer(_ text: String) -> Int? {
        if text.hasPrefix("0x") || text.hasPrefix("0o") {
            // Digits only after the prefix: Int(_:radix:) alone would take a sign ("0x-1").
            let digits = text.dropFirst(2)
            let radix = text.hasPrefix("0x") ? 16 : 8
            guard !digits.isEmpty, digits.allSatisfy({ Int(String($0), radix: radix) != nil }) else { return nil }
            return Int(digits, radix: radix)
        }
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    static func isFloat(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= 48 && $0 <= 57 }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        var mantissa = digits()
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }
}

/// libyaml's parser as a source of events, turning its failures into `ParseError`s.
private struct Events {
    let parser: UnsafeMutablePointer<yaml_parser_t>

    init(parser: UnsafeMutablePointer<yaml_parser_t>) { self.parser = parser }

    /// The next event; the caller deletes it.
    func next() throws(YAMLValue.ParseError) -> yaml_event_t {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else {
            let problem = parser.pointee.problem.map { String(cString: $0) } ?? "unreadable YAML"
            let context = parser.pointee.context.map { " \(String(cString: $0))" } ?? ""
            throw YAMLValue.ParseError(description: "\(Self.position(parser.pointee.problem_mark)): \(problem)\(context)")
        }
        return event
    }

    func expect(_ type: yaml_event_type_t) throws(YAMLValue.ParseError) {
        var event = try next()
        defer { yaml_event_delete(&event) }
        guard event.type == type else { throw unexpected(event) }
    }

    func unexpected(_ event: yaml_event_t) -> YAMLValue.ParseError {
        YAMLValue.ParseError(description: "\(Self.position(event.start_mark)): unexpected YAML event \(event.type.rawValue)")
    }

    static func position(_ mark: yaml_mark_t) -> String { "line \(mark.line + 1), column \(mark.column + 1)" }
}
