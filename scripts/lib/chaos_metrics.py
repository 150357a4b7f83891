"""Metrics during a chaos run: every node's `GET /metrics`, scraped while the faults go on, and
whether each family an operator watches moved.

A family moved on a node when some series of it (a name and its labels) changed between two
scrapes of the same process run of that node. Scrapes of different runs (a restart between them)
are never compared, so a counter's reset to zero by a `kill -9` does not count as movement.
"""

import os
import threading
import time

from chaos_checks import Verdict
from chaos_cluster import call

# The families the chaos run expects to see moving, by protocol: a cluster under kills, pauses,
# partitions and a workload of joins, broadcasts and writes moves every one of them.
WATCHED = {
    "membership": ["chorus_members", "chorus_membership_probes_total", "chorus_membership_suspicions_total",
                   "chorus_membership_refutations_total", "chorus_membership_local_health"],
    "groups": ["chorus_group_members", "chorus_group_joins_total", "chorus_group_leaves_total"],
    "broadcast": ["chorus_broadcast_events_total", "chorus_broadcast_acks_total", "chorus_broadcast_retries_total",
                  "chorus_broadcast_ack_seconds"],
    "replication": ["chorus_replication_lag_seconds", "chorus_replication_pending_deltas",
                    "chorus_replication_anti_entropy_rounds_total"],
    "dropped packets": ["chorus_dropped_packets_total"],
}

# Suffixes of a histogram's or summary's series, which belong to the family without them.
_SERIES_SUFFIXES = ("_bucket", "_sum", "_count")


def parse_exposition(text):
    """Prometheus text exposition -> {family: {series: value}}. A series is the sample's name with
    its labels as written; the family is the name of its `# TYPE` line (a histogram's `_bucket`,
    `_sum` and `_count` samples go to their family). Lines that do not parse are skipped."""
    families = {}
    declared = set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            words = line.split()
            if len(words) >= 3 and words[1] == "TYPE":
                declared.add(words[2])
            continue
        series, _, value = line.rpartition(" ")
        if not series:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        name = series.split("{", 1)[0]
        family = name
        if family not in declared:
            for suffix in _SERIES_SUFFIXES:
                if name.endswith(suffix) and name[: -len(suffix)] in declared:
                    family = name[: -len(suffix)]
                    break
        families.setdefault(family, {})[series] = number
    return families


def moved_families(scrapes):
    """scrapes: [(node, run, families)] in the order taken. Returns {family: set of nodes} where
    some series of the family changed (or appeared, or went) between consecutive scrapes of the
    same node run."""
    moved = {}
    last = {}
    for node, run, families in scrapes:
        previous = last.get(node)
        if previous is not None and previous[0] == run:
            before = previous[1]
            for family in set(before) | set(families):
                if before.get(family, {}) != families.get(family, {}):
                    moved.setdefault(family, set()).add(node)
        last[node] = (run, families)
    return moved


def check_metrics_moving(scrapes, moved, watched=WATCHED):
    """The verdict `metrics-moving`: every watched family moved on at least one node (`moved`:
    `moved_families(scrapes)`; `scrapes` gives the counts the verdict quotes)."""
    still = [family for families in watched.values() for family in families if not moved.get(family)]
    runs = len({(node, run) for node, run, _ in scrapes})
    if still:
        return Verdict("metrics-moving", False,
                       f"{len(still)} watched families never moved in {len(scrapes)} scrapes of {runs} node runs: "
                       + ", ".join(still))
    total = sum(len(f) for f in watched.values())
    return Verdict("metrics-moving", True,
                   f"all {total} watched families moved ({len(scrapes)} scrapes of {runs} node runs)")


def format_movement(moved, watched=WATCHED):
    """One line per watched family: on how many nodes it moved (`moved`: `moved_families`)."""
    lines = []
    for protocol, families in watched.items():
        for family in families:
            nodes = sorted(moved.get(family, ()))
            lines.append(f"  {protocol:<16} {family:<46} moved on {len(nodes)} node(s)"
                         + (f" ({' '.join(nodes)})" if nodes else ""))
    return lines


class MetricsScraper:
    """Scrapes every running node's `GET /metrics` every `interval` seconds on a thread of its own,
    keeps each scrape parsed and writes it to DIR/<node>-<seconds since start>.prom."""

    def __init__(self, cluster, directory, interval=5.0):
        self.cluster = cluster
        self.directory = directory
        self.interval = interval
        self.scrapes = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-scraper", daemon=True)
        self._start = None

    def start(self):
        os.makedirs(self.directory, exist_ok=True)
        self._start = time.monotonic()
        self._thread.start()

    def scrape_once(self):
        elapsed = time.monotonic() - self._start
        for name in self.cluster.up():
            node = self.cluster.nodes[name]
            run = node.generation
            answer = call(node, "GET", "/metrics", timeout=5.0)
            if not answer.ok or not isinstance(answer.body, str) or node.generation != run:
                continue
            self.scrapes.append((name, run, parse_exposition(answer.body)))
            with open(os.path.join(self.directory, f"{name}-{elapsed:06.1f}s.prom"), "w", encoding="utf-8") as out:
                out.write(answer.body)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.scrape_once()

    @property
    def stopped(self):
        return self._stop.is_set()

    def stop(self, last_scrape=True):
        """Stops the thread and, unless told not to, takes a last scrape of every node that runs."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if last_scrape:
            self.scrape_once()
