extension JSONValue {
    /// The compact UTF-8 text of this value, byte for byte what `JSONEncoder` with `.sortedKeys`
    /// writes: no spaces, object keys sorted, `"`, `\`, `/` and control characters escaped,
    /// other characters as UTF-8, whole doubles without `.0`. JSON has no NaN or infinity: such a
    /// double is written `null`.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        JSONWriter.write(self, into: &output)
        return output
    }

    /// `serialized()` as a string.
    public var text: String { String(decoding: serialized(), as: UTF8.self) }
}

/// Writes `JSONValue`s as compact JSON text.
enum JSONWriter {
    static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output += "null".utf8
        case .bool(let flag): output += (flag ? "true" : "false").utf8
        case .integer(let number): output += String(number).utf8
        case .unsigned(let number): output += String(number).utf8
        case .double(let number): writeDouble(number, into: &output)
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
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(members[key]!, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Swift's shortest round-tripping form, as `JSONEncoder` writes it: `1` for 1.0, `0.1`,
    /// `1e-07`, `1e+21`.
    static func writeDouble(_ number: Double, into output: inout [UInt8]) {
        guard number.isFinite else {
            output += "null".utf8
            return
        }
        var text = number.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        output += text.utf8
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string; `/` is escaped unless `escapingSlash` is false (the canonical form keeps it).
    static func writeString(_ text: String, into output: inout [UInt8], escapingSlash: Bool = true) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += #"\""#.utf8
            case UInt8(ascii: "\\"): output += #"\\"#.utf8
            case UInt8(ascii: "/") where escapingSlash: output += #"\/"#.utf8
            case 0x08: output += #"\b"#.utf8
            case 0x0C: output += #"\f"#.utf8
            case 0x0A: output += #"\n"#.utf8
            case 0x0D: output += #"\r"#.utf8
            case 0x09: output += #"\t"#.utf8
            case 0..<0x20:
                output += #"\u00"#.utf8
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
