import ChorusLoop
import ChorusWire
import Logging
import CoreMetrics

/// Counts dropped input and output (malformed packets and frames, foreign clusters, injected
/// faults, ...) in `chorus_dropped_packets_total{transport, reason}`, and logs refused input
/// without letting a flood of garbage flood the log: the first rejection of each kind in a second
/// is logged with its cause, the rest of that second are summed into the next line.
///
/// Every `transport` and `reason` (`DropReason`) pair is registered at 0 when the log is made, so
/// a scrape shows each from the start. Loop-bound: one instance per shell, used on its loop's
/// thread only.
final class RejectionLog {
    private let logger: Logger
    private var windowStart: UInt64 = 0
    private var suppressed: [String: Int] = [:]
    /// By transport (`udp`, then `tcp`), then reason.
    private let counters: [[DropReason: Counter]] = DropTransport.allCases.map { transport in
        Dictionary(uniqueKeysWithValues: DropReason.allCases.map { reason in
            (reason, Counter(label: "chorus_dropped_packets_total", dimensions: [("transport", transport.rawValue), ("reason", reason.rawValue)]))
        })
    }

    init(logger: Logger) { self.logger = logger }

    /// Records a rejected input of `transport` (`udp`, `tcp`) for `reason` (a `DropReason`, or a
    /// finer cause such as `bad_magic`) and logs `message`, throttled.
    func reject(transport: String, reason: String, nowMillis: UInt64, _ message: @autoclosure () -> String) {
        count(transport: transport, reason: reason)
        let key = "\(transport)/\(reason)"
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

    /// Counts a drop without logging it: one that is expected where it happens (injected faults,
    /// a peer's message before membership reports it alive).
    func count(transport: String, reason: String) {
        counters[transport == DropTransport.udp.rawValue ? 0 : 1][DropReason(cause: reason)]?.increment()
    }
}

extension WireError {
    /// A short label for why an input was refused (a `DropReason` or a finer cause of one).
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

/// The label for any error met while reading input.
func rejectionReason(_ error: any Error) -> String {
    if let wire = error as? WireError { return wire.reasonLabel }
    if error is FrameTooLarge { return "oversized" }
    return "malformed"
}
