import Chorus

/// Writes metric families in Prometheus' text exposition format (version 0.0.4): a `# HELP` and a
/// `# TYPE` line, then every sample of the family, so that a family is never split.
struct PrometheusTextWriter {
    /// A sample's labels, in order.
    typealias Labels = [(String, String)]

    private(set) var text: [UInt8]

    init(appendingTo text: [UInt8] = []) { self.text = text }

    /// A counter family: one sample per label set.
    mutating func counter(_ name: String, _ help: String, _ samples: [(Labels, UInt64)]) {
        header(name, "counter", help)
        for (labels, value) in samples { sample(name, labels, String(value)) }
    }

    /// A counter family of one sample without labels.
    mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
        counter(name, help, [([], value)])
    }

    /// A gauge family: one sample per label set.
    mutating func gauge(_ name: String, _ help: String, _ samples: [(Labels, Double)]) {
        header(name, "gauge", help)
        for (labels, value) in samples { sample(name, labels, Self.format(value)) }
    }

    /// A gauge family of one sample without labels.
    mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        gauge(name, help, [([], value)])
    }

    /// A histogram family of durations in seconds: cumulative `_bucket`s up to `+Inf`, `_sum`, `_count`.
    mutating func histogram(_ name: String, _ help: String, _ histogram: LatencyHistogram) {
        header(name, "histogram", help)
        var cumulative: UInt64 = 0
        for (index, count) in histogram.counts.enumerated() {
            cumulative += count
            let bound = index < LatencyHistogram.bounds.count ? Self.format(LatencyHistogram.bounds[index]) : "+Inf"
            sample(name + "_bucket", [("le", bound)], String(cumulative))
        }
        sample(name + "_sum", [], Self.format(Double(histogram.sumNanos) / 1e9))
        sample(name + "_count", [], String(cumulative))
    }

    private mutating func header(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8
    }

    private mutating func sample(_ name: String, _ labels: Labels, _ value: String) {
        text += name.utf8
        if !labels.isEmpty {
            text.append(UInt8(ascii: "{"))
            for (index, (key, value)) in labels.enumerated() {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                text += key.utf8
                text += "=\"".utf8
                for byte in value.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): text += "\\\\".utf8
                    case UInt8(ascii: "\""): text += "\\\"".utf8
                    case UInt8(ascii: "\n"): text += "\\n".utf8
                    default: text.append(byte)
                    }
                }
                text.append(UInt8(ascii: "\""))
            }
            text.append(UInt8(ascii: "}"))
        }
        text.append(UInt8(ascii: " "))
        text += value.utf8
        text.append(UInt8(ascii: "\n"))
    }

    /// A whole number without a fraction, others as Swift prints them (Prometheus reads both).
    private static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
