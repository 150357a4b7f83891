import Chorus

/// The metric families of a node's figures (`ClusterNode.figures()`), as `GET /metrics` serves them
/// after the swift-metrics registry's own (dropped packets, links, LSN trackers). Every family is
/// written at every scrape, with each known label value, so each is scrapeable as 0 from the start;
/// only per-peer families wait for a peer. README's "Metrics" section lists them all.
enum NodeMetrics {
    /// Appends the families of `figures` to `text`.
    static func write(_ figures: NodeFigures, into text: inout [UInt8]) {
        var writer = PrometheusTextWriter(appendingTo: text)
        writeMembership(figures.membership, &writer)
        writeGroups(figures.groups, &writer)
        writeBroadcasts(figures.broadcasts, &writer)
        writeStores(figures.stores, &writer)
        text = writer.text
    }

    private static func writeMembership(_ figures: MembershipFigures, _ writer: inout PrometheusTextWriter) {
        writer.gauge("chorus_members", "Members by status as this node sees them, itself included.",
                     MemberStatus.allCases.map { ([("status", $0.description)], Double(figures.members[$0] ?? 0)) })
        writer.counter("chorus_membership_probes_total", "Probe rounds started (a direct ping).", figures.counters.probes)
        writer.counter("chorus_membership_indirect_probes_total",
                       "Probe rounds whose direct ping went unanswered, so helpers were asked.", figures.counters.indirectProbes)
        writer.counter("chorus_membership_failed_probes_total",
                       "Probe rounds that ended with no ack by any path (the target is accused).", figures.counters.failedProbes)
        writer.counter("chorus_membership_suspicions_total", "Members this node came to suspect.", figures.suspicions)
        writer.counter("chorus_membership_deaths_total", "Members this node came to consider dead.", figures.deaths)
        writer.counter("chorus_membership_refutations_total",
                       "Suspicions, deaths or goodbyes of this node, heard from others, that it refuted.",
                       figures.counters.refutations)
        writer.gauge("chorus_membership_local_health",
                     "Lifeguard's local health score, 0 when healthy; probe timers are stretched by score + 1.",
                     Double(figures.localHealth))
        writer.counter("chorus_membership_undeliverable_total",
                       "Membership stream messages not delivered: refused (the process is gone) or unreachable.",
                       [([("refused", "true")], figures.undeliverableRefused), ([("refused", "false")], figures.undeliverableUnreachable)])
    }

    private static func writeGroups(_ figures: GroupFigures, _ writer: inout PrometheusTextWriter) {
        writer.gauge("chorus_group_members", "Group joins held, in every group of every scope: by this node's members or others'.",
                     [([("origin", "local")], Double(figures.localMembers)), ([("origin", "remote")], Double(figures.remoteMembers))])
        writer.counter("chorus_group_joins_total", "Joins of this node's members, and of others' learnt from their nodes.",
                       [([("origin", "local")], figures.localJoins), ([("origin", "remote")], figures.remoteJoins)])
        writer.counter("chorus_group_leaves_total",
                       "Leaves of this node's members, and of others' (a dead or gone node's members included).",
                       [([("origin", "local")], figures.localLeaves), ([("origin", "remote")], figures.remoteLeaves)])
    }

    private static func writeBroadcasts(_ figures: BroadcastFigures, _ writer: inout PrometheusTextWriter) {
        writer.counter("chorus_broadcast_events_total",
                       "Broadcast events handed to a member of this node (local) or sent to another node's (remote).",
                       [([("path", "local")], figures.localEvents), ([("path", "remote")], figures.remoteEvents)])
        writer.counter("chorus_broadcast_acks_total",
                       "Answers to acknowledged broadcasts from other nodes: the member took the event, or was gone.",
                       [([("result", "accepted")], figures.acksAccepted), ([("result", "refused")], figures.acksRefused)])
        writer.counter("chorus_broadcast_retries_total",
                       "Acknowledged broadcasts sent again after a refusal, a missed attempt timeout or a node down.",
                       figures.retries)
        writer.counter("chorus_broadcast_failures_total",
                       "Broadcasts that failed: no member in the group, or no acknowledgement before the timeout.",
                       [([("reason", "no_emitters")], figures.noEmitters), ([("reason", "not_acknowledged")], figures.notAcknowledged)])
        writer.histogram("chorus_broadcast_ack_seconds",
                         "Time from an acknowledged broadcast until a member accepted it, retries included.",
                         figures.ackLatency)
    }

    private static func writeStores(_ figures: StoreFigures?, _ writer: inout PrometheusTextWriter) {
        let counters = figures?.counters
        writer.gauge("chorus_store_keys", "Store keys held in memory: replicated to every node, or kept on this node only.",
                     [([("keyspace", "replicated")], Double(figures?.replicatedKeys ?? 0)),
                      ([("keyspace", "local")], Double(figures?.localKeys ?? 0))])
        writer.counter("chorus_store_writes_total", "Store writes made on this node since it started.", figures?.writes ?? 0)
        writer.gauge("chorus_store_restore_seconds", "Time taken at start to open the data_dir and read the stores.",
                     figures?.restoreSeconds ?? 0)
        writer.gauge("chorus_replication_peers", "Peers linked for replication.", Double(figures?.peers ?? 0))
        writer.gauge("chorus_replication_lag_seconds",
                     "Age of the oldest write this node holds that the peer has not acknowledged (0: none).",
                     (figures?.replication ?? []).map { ([("peer", $0.peer)], $0.lagSeconds) })
        writer.gauge("chorus_replication_pending_deltas", "Writes this node holds that the peer has not acknowledged.",
                     (figures?.replication ?? []).map { ([("peer", $0.peer)], Double($0.pendingDeltas)) })
        writer.gauge("chorus_replication_waiting_deltas", "Deltas received that wait for a write they replaced.",
                     Double(figures?.waitingDeltas ?? 0))
        writer.gauge("chorus_replication_logged_deltas", "Deltas kept in the log to repair peers.",
                     Double(figures?.loggedDeltas ?? 0))
        writer.counter("chorus_replication_deltas_total",
                       "Deltas pushed to peers, sent in repair, applied from peers, and received twice.",
                       [([("kind", "pushed")], counters?.deltasPushed ?? 0), ([("kind", "repaired")], counters?.deltasRepaired ?? 0),
                        ([("kind", "applied")], counters?.deltasApplied ?? 0), ([("kind", "duplicate")], counters?.duplicateDeltas ?? 0)])
        writer.counter("chorus_replication_anti_entropy_rounds_total",
                       "Digests received from peers, each compared with this replica and answered with what the peer lacks.",
                       counters?.digestsReceived ?? 0)
        writer.counter("chorus_replication_snapshots_total", "Snapshots sent to peers too far behind, and received.",
                       [([("direction", "sent")], counters?.snapshotsSent ?? 0), ([("direction", "received")], counters?.snapshotsReceived ?? 0)])
    }
}
