import ChorusMembership
import ChorusWire
import CoreMetrics

/// The membership protocol's Prometheus metrics:
/// - `chorus_members{status}`: members by status as this node sees them, itself included;
/// - `chorus_membership_probes_total`: direct probes sent;
/// - `chorus_membership_suspicions_total`: members this node came to suspect;
/// - `chorus_membership_deaths_total`: members this node came to consider dead;
/// - `chorus_membership_undeliverable_total{refused}`: stream messages that found no listener.
struct MembershipMetrics {
    private let byStatus: [MemberStatus: Gauge] = Dictionary(uniqueKeysWithValues: MemberStatus.allCases.map {
        ($0, Gauge(label: "chorus_members", dimensions: [("status", $0.description)]))
    })
    let probes = Counter(label: "chorus_membership_probes_total")
    let suspicions = Counter(label: "chorus_membership_suspicions_total")
    let deaths = Counter(label: "chorus_membership_deaths_total")
    let refused = Counter(label: "chorus_membership_undeliverable_total", dimensions: [("refused", "true")])
    let unreachable = Counter(label: "chorus_membership_undeliverable_total", dimensions: [("refused", "false")])

    /// Records how many members have each status.
    func record(_ members: some Sequence<Member>) {
        var counts: [MemberStatus: Int] = [:]
        for member in members { counts[member.state.status, default: 0] += 1 }
        for (status, gauge) in byStatus { gauge.record(counts[status] ?? 0) }
    }
}
