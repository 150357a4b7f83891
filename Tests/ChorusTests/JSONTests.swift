import ChorusAdmin
import ChorusTestSupport
import Foundation
import Testing

/// The admin API's JSON without Foundation: the writer matches JSONEncoder with sorted keys, the
/// parser is strict RFC 8259.
@Suite("JSON: writer and strict parser")
struct JSONTests {
    static func encoderText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    // MARK: Writing

    @Test("given nested values, when written, then the text is compact with object keys sorted")
    func writesCompactSorted() {
        let value: JSONValue = ["b": 1, "a": [true, false, nil, "x"], "c": ["z": 2.5, "y": .array([]), "x": .object([:])]]
        #expect(value.text == #"{"a":[true,false,null,"x"],"b":1,"c":{"x":{},"y":[],"z":2.5}}"#)
    }

    @Test("given every ASCII character and some beyond, when written, then the string is what JSONEncoder writes")
    func stringsAsJSONEncoder() throws {
        var texts = (0..<128).map { String(UnicodeScalar(UInt8($0))) }
        texts += ["é", "😀", "\u{2028}", "\u{FEFF}", "a/b\\c\"d", "", "naïve café ☕️ 👩‍👩‍👧"]
        texts.append(texts.joined())
        for text in texts {
            let expected = try Self.encoderText([text])
            #expect(JSONValue.array([.string(text)]).text == expected, "\(Array(text.unicodeScalars))")
        }
    }

    @Test("given doubles, when written, then the text is what JSONEncoder writes (whole numbers without .0)",
          arguments: [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 100.0, 1e-7, 1e21, 1e22, 2.5e15, 1e16, 1.5e300, 123456789.125,
                      Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, 1.0 / 3.0])
    func doublesAsJSONEncoder(value: Double) throws {
        #expect(JSONValue.array([.double(value)]).text == (try Self.encoderText([value])))
    }

    @Test("given integers at the edges, then they are written exactly; NaN and infinity are written null")
    func integersExactly() {
        #expect(JSONValue.integer(.min).text == "-9223372036854775808")
        #expect(JSONValue.integer(.max).text == "9223372036854775807")
        #expect(JSONValue.unsigned(.max).text == "18446744073709551615")
        #expect(JSONValue.double(.nan).text == "null")
        #expect(JSONValue.double(-.infinity).text == "null")
    }

    @Test("given keys that differ in case, digits and underscores, then they are sorted as JSONEncoder sorts them")
    func keyOrderAsJSONEncoder() throws {
        let keys = ["B", "a10", "a9", "aB", "a_b", "ab", "z", "é", "meta", "meta_encoding", "drop_inbound", "delay_ms"]
        let object = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, .integer(Int64($0))) }))
        let expected = try Self.encoderText(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) }))
        #expect(object.text == expected)
    }

    // MARK: Parsing

    @Test("given random documents, when written and parsed again, then they come back equal")
    func roundTrips() throws {
        var random = SplitMix64(seed: testSeed("JSON round trips", fixed: 0x150B))
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, &random)
            let parsed = try JSONParser.parse(value.serialized())
            #expect(parsed == value, "\(value.text)")
            #expect(parsed.serialized() == value.serialized())
        }
    }

    static func randomValue(depth: Int, _ random: inout SplitMix64) -> JSONValue {
        let kinds = depth > 4 ? 6 : 8
        switch Int.random(in: 0..<kinds, using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .integer(Int64.random(in: .min ... .max, using: &random))
        case 3: return .unsigned(UInt64.random(in: (UInt64(Int64.max) + 1)...UInt64.max, using: &random))
        case 4:
            // Whole doubles would come back as integers; keep a fraction.
            let value = Double.random(in: -1e6...1e6, using: &random) * pow(10, Double(Int.random(in: -20...5, using: &random)))
            return .double(value.rounded() == value ? value + 0.5 : value)
        case 5: return .string(randomString(&random))
        case 6: return .array((0..<Int.random(in: 0..<5, using: &random)).map { _ in randomValue(depth: depth + 1, &random) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &random) { members[randomString(&random)] = randomValue(depth: depth + 1, &random) }
            return .object(members)
        }
    }

    static func randomString(_ random: inout SplitMix64) -> String {
        let pool: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "\u{2028}", "😀", "中"]
        return String(String.UnicodeScalarView((0..<Int.random(in: 0..<8, using: &random)).map { _ in pool.randomElement(using: &random)! }))
    }

    @Test("given escapes, then each is decoded; surrogate pairs make one character")
    func escapes() throws {
        let value = try JSONParser.parse(#"["\"\\\/\b\f\n\r\t", "\u00e9\u00E9", "\ud83d\ude00", "\u0000", "a\u2028b"]"#)
        #expect(value == ["\"\\/\u{08}\u{0C}\n\r\t", "éé", "😀", "\u{0}", "a\u{2028}b"])
    }

    @Test("given numbers, then integers stay exact and the rest are doubles")
    func numbers() throws {
        #expect(try JSONParser.parse("0") == .integer(0))
        #expect(try JSONParser.parse("-0") == .integer(0))
        #expect(try JSONParser.parse("-9223372036854775808") == .integer(.min))
        #expect(try JSONParser.parse("9223372036854775808") == .unsigned(9_223_372_036_854_775_808))
        #expect(try JSONParser.parse("18446744073709551616") == .double(18_446_744_073_709_551_616))
        #expect(try JSONParser.parse("1.5") == .double(1.5))
        #expect(try JSONParser.parse("-1E2") == .double(-100))
        #expect(try JSONParser.parse("2e-3") == .double(0.002))
        #expect(JSONValue.double(5).intValue == 5)
        #expect(JSONValue.double(5.5).intValue == nil)
        #expect(JSONValue.unsigned(.max).intValue == nil)
    }

    @Test("given whitespace around and between tokens, then the document parses")
    func whitespace() throws {
        #expect(try JSONParser.parse(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n ") == ["a": [1, 2]])
    }

    @Test("given text that is not strict JSON, then it is refused with the byte offset and the reason", arguments: [
        ("", 0, "expected a JSON value, found the end"),
        ("   ", 3, "expected a JSON value"),
        ("[1,]", 3, "expected a JSON value, found ']'"),
        (#"{"a":1,}"#, 7, "expected a string key"),
        ("{'a':1}", 1, "expected a string key in an object, found '''"),
        (#"{"a" 1}"#, 5, "expected ':'"),
        ("[1 2]", 3, "expected ',' or ']'"),
        (#"{"a":1 "b":2}"#, 7, "expected ',' or '}'"),
        ("01", 1, "leading zero"),
        ("1.", 2, "expected a digit after '.'"),
        ("-", 1, "expected a digit"),
        ("+1", 0, "found '+'"),
        (".5", 0, "found '.'"),
        ("1e", 2, "exponent"),
        ("1e400", 0, "out of range"),
        ("tru", 0, "invalid literal"),
        ("nulL", 0, "invalid literal"),
        ("NaN", 0, "expected a JSON value, found 'N'"),
        (#""abc"#, 0, "unterminated string"),
        ("\"a\nb\"", 2, "unescaped control character 0x0A"),
        (#""\x""#, 1, "invalid escape \\x"),
        (#""\u12G4""#, 1, "4 hexadecimal digits"),
        (#""\ud800""#, 1, "not followed by a low one"),
        (#""\ud800\u0041""#, 7, "not a low surrogate"),
        (#""\udc00""#, 1, "lone low surrogate"),
        ("[1] 2", 4, "after the JSON value"),
        (#"{"a":1,"a":2}"#, 7, "duplicate key \"a\""),
        ("\u{FEFF}1", 0, "byte 0xEF"),
        ("// no\n1", 0, "found '/'"),
    ])
    func refusals(text: String, offset: Int, reason: String) {
        do {
            let value = try JSONParser.parse(text)
            Issue.record("parsed \(value)")
        } catch {
            #expect(error.offset == offset, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
            #expect("\(error)".hasSuffix("at byte \(error.offset)"))
        }
    }

    @Test("given bytes that are not UTF-8 in a string, then the offset is the first bad byte")
    func invalidUTF8() {
        for (bytes, offset) in [([0x22, 0x61, 0xFF, 0x22], 2), ([0x22, 0xC3, 0x22], 2), ([0x22, 0xED, 0xA0, 0x80, 0x22], 2)] as [([UInt8], Int)] {
            #expect(throws: JSONParseError(offset: offset, reason: "invalid UTF-8 in a string")) { try JSONParser.parse(bytes) }
        }
    }

    @Test("given nesting of 64 arrays and objects, then it parses; 65, or a flood of brackets, is refused without exhausting the stack")
    func depthLimit() throws {
        let deep = String(repeating: "[", count: 32) + String(repeating: "{\"a\":", count: 32) + "1"
            + String(repeating: "}", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try JSONParser.parse(deep) }
        #expect(throws: JSONParseError(offset: 64, reason: "nesting deeper than 64 arrays and objects")) {
            try JSONParser.parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))
        }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 1_000_000)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[1]", maxDepth: 0) }
    }
}
