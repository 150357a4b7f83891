/// The canonical JSON text of a value: what a shape's definition is, so that two objects that
/// differ only in key order, spacing or the spelling of their numbers and strings are one shape.
///
/// Rules:
/// - No insignificant whitespace.
/// - Object keys sorted by their UTF-8 bytes (not by Swift's `String` order, which compares
///   canonically equivalent Unicode as equal).
/// - Strings: `"` and `\` escaped with a backslash, control characters (below U+0020) as `\b`,
///   `\t`, `\n`, `\f`, `\r` or `\u00xx` (lowercase hex); everything else, `/` included, as its
///   UTF-8 bytes. Strings are kept byte for byte: no Unicode normalization.
/// - Numbers: an integer written without fraction or exponent is kept exactly (any size up to
///   2^64 - 1, and down to -2^63). Any other number is read as a 64-bit double: a whole one in
///   that range is written as an integer (`1.0`, `1e2` and `100` read `1` and `100`), else in
///   Swift's shortest round-trip form with the exponent's leading zeros dropped (`1.5`, `1e-7`,
///   `1e+21`). `-0` is `0`.
public enum CanonicalJSON {
    /// The canonical text of `value`.
    public static func text(_ value: JSONValue) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output += "null".utf8
        case .bool(let flag): output += (flag ? "true" : "false").utf8
        case .integer(let number): output += String(number).utf8
        case .unsigned(let number): output += String(number).utf8
        case .double(let number): output += doubleText(number).utf8
        case .string(let text): writeString(text, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(members[key]!, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// A double as the rules say (the parser never yields NaN or infinity; were one given, `null`).
    static func doubleText(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if let whole = Int64(exactly: number) { return String(whole) }
        if let whole = UInt64(exactly: number) { return String(whole) }
        let text = number.description
        guard let e = text.firstIndex(of: "e") else { return text }
        var exponent = text[text.index(after: e)...]
        var sign = ""
        if let first = exponent.first, first == "+" || first == "-" {
            sign = String(first)
            exponent = exponent.dropFirst()
        }
        let digits = exponent.drop { $0 == "0" }
        return text[..<e] + "e" + sign + (digits.isEmpty ? "0" : digits)
    }

    /// A string as the API writes it, but with `/` as is: one spelling per string.
    static func writeString(_ text: String, into output: inout [UInt8]) {
        JSONWriter.writeString(text, into: &output, escapingSlash: false)
    }
}
