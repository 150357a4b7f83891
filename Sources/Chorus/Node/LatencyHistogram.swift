/// Durations counted into fixed buckets, for a Prometheus histogram: kept by the one thread that
/// records them (a loop), copied out at scrape time. Recording adds to a count and a sum, with no
/// lock and no allocation; only the first record after a copy was taken copies the counts.
public struct LatencyHistogram: Sendable, Equatable {
    /// The buckets' upper bounds in seconds (Prometheus' `le`), from 100 µs to 10 s; a last
    /// bucket, `+Inf`, takes what is longer.
    public static let bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5, 1, 2.5, 5, 10]
    private static let boundNanos: [UInt64] = bounds.map { UInt64(($0 * 1e9).rounded()) }

    /// Durations per bucket, not cumulative: `counts[i]` took those above `bounds[i - 1]` and at
    /// most `bounds[i]`; the last one those above every bound.
    public private(set) var counts = [UInt64](repeating: 0, count: bounds.count + 1)
    /// The sum of every duration recorded, in nanoseconds.
    public private(set) var sumNanos: UInt64 = 0

    public init() {}

    /// How many durations were recorded.
    public var count: UInt64 { counts.reduce(0, &+) }

    /// Counts one duration.
    public mutating func record(nanos: UInt64) {
        var index = 0
        let bounds = Self.boundNanos
        while index < bounds.count, nanos > bounds[index] { index += 1 }
        counts[index] &+= 1
        sumNanos &+= nanos
    }
}
