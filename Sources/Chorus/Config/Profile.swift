/// A set of timer defaults for a kind of network. Every timer can still be set one by one.
///
/// - `lan`: memberlist's LAN defaults (probe 1 s, probe timeout 500 ms, gossip 200 ms).
/// - `wan`: slower, for links with tens of milliseconds of latency (probe 5 s, timeout 3 s, gossip 500 ms).
/// - `local`: fast timers for tests on one machine (probe 200 ms, timeout 100 ms, gossip 50 ms).
public enum Profile: String, Sendable, CaseIterable, Codable {
    case lan, wan, local
}
