import ChorusMembership

/// The `membership:` mapping of a cluster file: SWIM timers and factors set one by one on top of
/// the profile's defaults. Every `SWIMSettings` field has a snake_case key; a key left out keeps
/// the profile's value.
///
/// ```yaml
/// profile: local
/// membership:
///   probe_interval: 1s      # durations: 250ms, 1s, 2m, 1h (whole numbers)
///   probe_timeout: 500ms
///   suspicion_multiplier: 5
///   tcp_fallback: true
/// ```
public struct MembershipOverrides: Sendable, Equatable {
    public var probeInterval: Duration?
    public var probeTimeout: Duration?
    public var indirectChecks: Int?
    public var retransmitMultiplier: Int?
    public var suspicionMultiplier: Int?
    public var suspicionMaxTimeoutMultiplier: Int?
    public var gossipInterval: Duration?
    public var gossipNodes: Int?
    public var pushPullInterval: Duration?
    public var awarenessMaxMultiplier: Int?
    public var tcpFallback: Bool?
    public var lifeguard: Bool?
    public var reconnectInterval: Duration?
    public var reconnectTimeout: Duration?
    public var udpPacketSize: Int?
    public var gossipToTheDead: Duration?

    public init() {}

    /// Keys the mapping may hold.
    static let knownKeys: Set<String> = [
        "probe_interval", "probe_timeout", "indirect_checks", "retransmit_multiplier", "suspicion_multiplier",
        "suspicion_max_timeout_multiplier", "gossip_interval", "gossip_nodes", "push_pull_interval",
        "awareness_max_multiplier", "tcp_fallback", "lifeguard", "reconnect_interval", "reconnect_timeout",
        "udp_packet_size", "gossip_to_the_dead",
    ]

    /// Reads and checks the mapping (each value alone; `applied(to:)` checks how they fit together).
    init(_ fields: ConfigFields) throws(ConfigError) {
        try fields.refuseUnknown(Self.knownKeys)
        probeInterval = try fields.duration("probe_interval")
        probeTimeout = try fields.duration("probe_timeout")
        indirectChecks = try fields.integer("indirect_checks", in: 0...32)
        retransmitMultiplier = try fields.integer("retransmit_multiplier", in: 1...64)
        suspicionMultiplier = try fields.integer("suspicion_multiplier", in: 1...64)
        suspicionMaxTimeoutMultiplier = try fields.integer("suspicion_max_timeout_multiplier", in: 1...64)
        gossipInterval = try fields.duration("gossip_interval")
        gossipNodes = try fields.integer("gossip_nodes", in: 1...64)
        pushPullInterval = try fields.duration("push_pull_interval")
        awarenessMaxMultiplier = try fields.integer("awareness_max_multiplier", in: 1...64)
        tcpFallback = try fields.boolean("tcp_fallback")
        lifeguard = try fields.boolean("lifeguard")
        reconnectInterval = try fields.duration("reconnect_interval")
        reconnectTimeout = try fields.duration("reconnect_timeout")
        udpPacketSize = try fields.integer("udp_packet_size", in: 512...1400)
        gossipToTheDead = try fields.duration("gossip_to_the_dead")
    }

    /// `base` (a profile's defaults) with these overrides, checked as a whole: a probe timeout must
    /// be shorter than the probe interval, or every probe would run into the next one.
    public func applied(to base: SWIMSettings, path: String = "membership") throws(ConfigError) -> SWIMSettings {
        var s = base
        if let probeInterval { s.probeInterval = probeInterval }
        if let probeTimeout { s.probeTimeout = probeTimeout }
        if let indirectChecks { s.indirectChecks = indirectChecks }
        if let retransmitMultiplier { s.retransmitMultiplier = retransmitMultiplier }
        if let suspicionMultiplier { s.suspicionMultiplier = suspicionMultiplier }
        if let suspicionMaxTimeoutMultiplier { s.suspicionMaxTimeoutMultiplier = suspicionMaxTimeoutMultiplier }
        if let gossipInterval { s.gossipInterval = gossipInterval }
        if let gossipNodes { s.gossipNodes = gossipNodes }
        if let pushPullInterval { s.pushPullInterval = pushPullInterval }
        if let awarenessMaxMultiplier { s.awarenessMaxMultiplier = awarenessMaxMultiplier }
        if let tcpFallback { s.tcpFallback = tcpFallback }
        if let lifeguard { s.lifeguard = lifeguard }
        if let reconnectInterval { s.reconnectInterval = reconnectInterval }
        if let reconnectTimeout { s.reconnectTimeout = reconnectTimeout }
        if let udpPacketSize { s.udpPacketSize = udpPacketSize }
        if let gossipToTheDead { s.gossipToTheDead = gossipToTheDead }
        guard s.probeTimeout < s.probeInterval else {
            throw ConfigError(field: "\(path).probe_timeout",
                              problem: "must be shorter than probe_interval (\(s.probeTimeout) >= \(s.probeInterval))")
        }
        return s
    }
}

extension Profile {
    /// The SWIM timers of this profile, before any `membership:` override.
    public var swimDefaults: SWIMSettings {
        switch self {
        case .lan: .lan
        case .wan: .wan
        case .local: .local
        }
    }
}

extension ConfigFields {
    /// A duration written `<whole number><unit>`, unit one of `ms`, `s`, `m`, `h`; more than zero.
    func duration(_ key: String) throws(ConfigError) -> Duration? {
        guard let raw = map[key] else { return nil }
        let expected = "expected a duration such as 200ms, 1s, 2m or 1h"
        guard case .string(let text) = raw else {
            throw ConfigError(field: fieldPath(key), problem: "\(expected), found \(describe(raw))")
        }
        guard let duration = Self.parseDuration(text) else {
            throw ConfigError(field: fieldPath(key), problem: "\(expected), found \"\(text)\"")
        }
        guard duration > .zero else {
            throw ConfigError(field: fieldPath(key), problem: "must be more than zero, found \"\(text)\"")
        }
        return duration
    }

    /// `"250ms"` -> 250 ms; nil when the text is not a whole number followed by ms, s, m or h.
    static func parseDuration(_ text: String) -> Duration? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let value = Int64(digits) else { return nil }
        switch text.dropFirst(digits.count) {
        case "ms": return .milliseconds(value)
        case "s": return .seconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        default: return nil
        }
    }

    /// A whole number in `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let raw = map[key] else { return nil }
        guard case .int(let value) = raw else {
            throw ConfigError(field: fieldPath(key), problem: "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(describe(raw))")
        }
        guard range.contains(value) else {
            throw ConfigError(field: fieldPath(key), problem: "must be from \(range.lowerBound) to \(range.upperBound), found \(value)")
        }
        return value
    }

    /// `true` or `false`.
    func boolean(_ key: String) throws(ConfigError) -> Bool? {
        guard let raw = map[key] else { return nil }
        guard case .bool(let value) = raw else {
            throw ConfigError(field: fieldPath(key), problem: "expected true or false, found \(describe(raw))")
        }
        return value
    }

    /// A nested mapping, or nil when the key is absent.
    func mapping(_ key: String) throws(ConfigError) -> ConfigFields? {
        guard let raw = map[key] else { return nil }
        guard case .map(let nested) = raw else {
            throw ConfigError(field: fieldPath(key), problem: "expected a mapping, found \(describe(raw))")
        }
        return ConfigFields(nested, path: fieldPath(key))
    }
}
