import ChorusLoop
import ChorusWire
import Logging
import CoreMetrics

/// Counts input that was refused (malformed packets and frames, foreign clusters) and logs it
/// without letting a flood of garbage flood the log: the first rejection of each kind in a second
/// is logged with its cause, the rest of that second are summed into the next line.
///
/// Loop-bound: one instance per loop, used on that loop's thread only.
final class RejectionLog {
    private let logger: Logger
    private var windowStart: UInt64 = 0
    private var suppressed: [String: Int] = [:]
    private var counters: [String: Counter] = [:]

    init(logger: Logger) { self.logger = logger }

    /// Records a rejected input of `kind` (`udp`, `tcp`) for `reason` (`bad_magic`, ...).
    func reject(transport: String, reason: String, nowMillis: UInt64, _ message: @autoclosure () -> String) {
        let key = "\(transport)/\(reason)"
        counter(transport: transport, reason: reason).increment()
        if nowMillis &- windowStart >= 1000 {
            windowStart = nowMillis
            for (kind, count) in suppressed.sorted(by: { $0.key < $1.key }) where count > 0 {
                logger.warning("suppressed \(count) more rejected inputs (\(kind)) in the last second")
            }
            suppressed.removeAll(keepingCapacity: true)
        }
        if suppressed[key] == nil {
            suppressed[key] = 0
            logger.warning("\(message())")
        } else {
            suppressed[key, default: 0] += 1
        }
    }

    private func counter(transport: String, reason: String) -> Counter {
        let key = "\(transport)/\(reason)"
        if let counter = counters[key] { return counter }
        let counter = Counter(label: "chorus_dropped_inputs_total", dimensions: [("transport", transport), ("reason", reason)])
        counters[key] = counter
        return counter
    }
}

extension WireError {
    /// A short metric label for why an input was refused.
    var reasonLabel: String {
        switch self {
        case .truncated: "truncated"
        case .badMagic: "bad_magic"
        case .unsupportedVersion: "bad_version"
        case .unknownType: "unknown_type"
        case .oversized: "oversized"
        case .malformed: "malformed"
        }
    }
}

/// The metric label for any error met while reading input.
func rejectionReason(_ error: any Error) -> String {
    if let wire = error as? WireError { return wire.reasonLabel }
    if error is FrameTooLarge { return "oversized" }
    return "malformed"
}
