/// The samples of a Prometheus text page (what `GET /metrics` serves), read back: for
/// `chorus top` and for specs. Lines it cannot read are skipped.
public struct MetricSamples: Sendable {
    /// One sample: a name (a histogram's carry `_bucket`, `_sum`, `_count`), its labels, its value.
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public private(set) var samples: [Sample] = []
    /// The families the page declares (`# TYPE` lines), with their types.
    public private(set) var families: [String: String] = [:]

    public init(parsing text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let words = line.split(separator: " ")
                if words.count == 4 { families[String(words[2])] = String(words[3]) }
            } else if !line.hasPrefix("#"), let sample = Self.sample(line) {
                samples.append(sample)
            }
        }
    }

    /// The sum of the values of the samples called `name` whose labels include `labels`; nil when
    /// there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    /// The samples called `name`.
    public func all(_ name: String) -> [Sample] { samples.filter { $0.name == name } }

    /// `name{label="value",...} value`, label values escaped as the format says (`\\`, `\"`, `\n`).
    private static func sample(_ line: Substring) -> Sample? {
        var rest = line[...]
        guard let nameEnd = rest.firstIndex(where: { $0 == "{" || $0 == " " }) else { return nil }
        let name = String(rest[..<nameEnd])
        rest = rest[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].first == "\"" else { return nil }
                let key = rest[..<equals].trimmingPrefix(",")
                rest = rest[rest.index(equals, offsetBy: 2)...]
                var value = ""
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(character == "n" ? "\n" : character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        value.append(character)
                    }
                }
                labels[String(key)] = value
                if rest.first == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { return nil }
            }
            rest = rest.dropFirst()
        }
        let text = rest.trimmingPrefix(" ").split(separator: " ").first.map(String.init) ?? ""
        let value: Double? = switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        default: Double(text)
        }
        return value.map { Sample(name: name, labels: labels, value: $0) }
    }
}
