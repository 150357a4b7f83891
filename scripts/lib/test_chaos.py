#!/usr/bin/env python3
"""Specs of the chaos run's pure parts: the schedule, the faults a node is given, and the checks.

    python3 scripts/lib/test_chaos.py      (scripts/test runs it before the chaos runs)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos_checks import (check_groups, check_monotonic_reads, check_read_your_writes, check_stores_equal,  # noqa: E402
                          check_writes_present)
from chaos_faults import faults_of  # noqa: E402
from chaos_metrics import check_metrics_moving, moved_families, parse_exposition  # noqa: E402
from chaos_schedule import Fault, SplitMix64, make_schedule  # noqa: E402
from chaos_workload import KEYS, SCOPE, EMITTER_SCOPE, History  # noqa: E402

NAMES = ["n1", "n2", "n3", "n4", "n5"]


class ScheduleSpec(unittest.TestCase):
    def test_given_a_seed_when_drawn_twice_then_the_schedule_is_the_same_and_another_seed_differs(self):
        first = [f.as_json() for f in make_schedule(7, NAMES, 120)]
        self.assertEqual(first, [f.as_json() for f in make_schedule(7, NAMES, 120)])
        self.assertNotEqual(first, [f.as_json() for f in make_schedule(8, NAMES, 120)])

    def test_given_splitmix64_seed_0_then_its_first_output_is_the_reference_value(self):
        self.assertEqual(SplitMix64(0).next(), 0xE220A8397B1DCDAF)

    def test_given_many_seeds_then_no_more_than_two_nodes_are_down_and_one_partition_stands_at_once(self):
        for seed in range(1, 60):
            faults = make_schedule(seed, NAMES, 120)
            self.assertTrue(faults, f"seed {seed}")
            for fault in faults:
                self.assertGreaterEqual(fault.start, 3.0)
                self.assertLess(fault.start, 115.0)
                # What stands when this fault begins (the most at once is reached at some start).
                during = [f for f in faults if f.start <= fault.start < f.end]
                down = [f.node for f in during if f.kind in ("kill", "pause")]
                self.assertLessEqual(len(set(down)), 2, f"seed {seed} at {fault.start}")
                self.assertEqual(len(down), len(set(down)), f"seed {seed}: a node down twice at once")
                self.assertLessEqual(sum(1 for f in during if f.kind == "partition"), 1, f"seed {seed}")
            self.assertTrue(any(f.kind == "partition" and f.start <= 112 and f.end >= 120 for f in faults),
                            f"seed {seed}: no partition stands until the heal")


class FaultsOfSpec(unittest.TestCase):
    def test_given_a_partition_a_drop_and_a_loss_then_each_node_gets_the_union_of_what_stands_on_it(self):
        standing = [Fault("partition", 0, 5, sides=[["n1"], ["n2", "n3"]]),
                    Fault("drop", 0, 5, source="n2", target="n3", at="n3"),
                    Fault("drop", 0, 5, source="n3", target="n1", at="n3"),
                    Fault("loss", 0, 5, node="n2", loss=0.2, delay_ms=10)]
        self.assertEqual(faults_of("n1", standing, []),
                         {"drop_inbound": ["n2", "n3"], "drop_outbound": ["n2", "n3"], "loss": 0.0, "delay_ms": 0, "defects": []})
        self.assertEqual(faults_of("n3", standing, ["ack_without_delivery"]),
                         {"drop_inbound": ["n1", "n2"], "drop_outbound": ["n1"], "loss": 0.0, "delay_ms": 0,
                          "defects": ["ack_without_delivery"]})
        self.assertEqual(faults_of("n2", standing, [])["loss"], 0.2)


def read(node, value, start, end, uid="u1", key=KEYS[0]):
    return {"node": node, "uid": uid, "key": key, "value": value, "start": start, "end": end}


class MonotonicReadsSpec(unittest.TestCase):
    def history(self, reads):
        history = History()
        history.reads = reads
        return history

    def test_given_a_read_lower_than_one_that_answered_before_it_began_then_it_fails(self):
        verdict = check_monotonic_reads(self.history([read("n1", 5, 0, 1), read("n1", 4, 2, 3)]))
        self.assertFalse(verdict.ok)
        self.assertIn("read 4 after 5", verdict.detail)

    def test_given_no_epoch_after_an_epoch_then_it_fails_and_across_a_restart_too(self):
        self.assertFalse(check_monotonic_reads(self.history([read("n1", 5, 0, 1), read("n1", None, 2, 3, uid="u2")])).ok)

    def test_given_overlapping_reads_or_other_nodes_or_keys_then_a_lower_value_is_allowed(self):
        reads = [read("n1", 5, 0, 2), read("n1", 4, 1, 3),  # overlapping: either order is possible
                 read("n2", 3, 4, 5),  # another node lags
                 read("n1", 1, 6, 7, key=KEYS[1])]  # another key
        self.assertTrue(check_monotonic_reads(self.history(reads)).ok)


class StateChecksSpec(unittest.TestCase):
    def state(self, epochs_by_node):
        return {node: {"epochs": epochs, "groups": {}, "scopes": {}} for node, epochs in epochs_by_node.items()}

    def test_given_nodes_that_differ_on_a_key_then_stores_equal_fails_naming_it(self):
        state = self.state({"n1": {KEYS[0]: 3}, "n2": {KEYS[0]: 2}})
        verdict = check_stores_equal(state)
        self.assertFalse(verdict.ok)
        self.assertIn("n1=3 n2=2", verdict.detail)

    def test_given_a_node_below_an_acknowledged_write_then_writes_present_fails(self):
        history = History()
        history.acked_writes = [{"key": KEYS[0], "epoch": 3, "held": 3, "lsn": "x/1", "node": "n1"}]
        self.assertTrue(check_writes_present(self.state({"n1": {KEYS[0]: 3}, "n2": {KEYS[0]: 4}}), history).ok)
        self.assertFalse(check_writes_present(self.state({"n1": {KEYS[0]: 3}, "n2": {KEYS[0]: None}}), history).ok)

    def test_given_a_read_after_a_ready_await_that_misses_the_write_then_read_your_writes_fails(self):
        history = History()
        history.read_your_writes = [{"key": KEYS[0], "epoch": 3, "lsn": "x/1", "writer": "n1", "reader": "n2", "read": 2}]
        self.assertFalse(check_read_your_writes(history).ok)


class Nodes:
    """Stands in for the cluster in check_groups: only names and the uid of each current run."""

    class Node:
        def __init__(self, uid):
            self.uid = uid

    def __init__(self, uids):
        self.names = sorted(uids)
        self.nodes = {name: self.Node(uid) for name, uid in uids.items()}


class GroupViewsSpec(unittest.TestCase):
    cluster = Nodes({"n1": "aaaa", "n2": "bbbb"})

    def state(self, n1, n2):
        def view(groups):
            return {"scopes": {SCOPE: sorted(groups), EMITTER_SCOPE: []}, "groups": {SCOPE: groups}}
        return {"n1": view(n1), "n2": view(n2)}

    def test_given_identical_views_that_match_the_joins_then_it_passes(self):
        history = History()
        history.joins = {(SCOPE, "g0", "aaaa.1"): 2}
        views = {"g0": (["aaaa.1", "aaaa.1"], ["aaaa.1", "aaaa.1"])}
        same = {"g0": (["aaaa.1", "aaaa.1"], [])}
        self.assertTrue(check_groups(self.state(views, same), self.cluster, history).ok)

    def test_given_a_node_that_misses_a_join_then_it_fails(self):
        history = History()
        verdict = check_groups(self.state({"g0": (["aaaa.1"], ["aaaa.1"])}, {"g0": ([], [])}), self.cluster, history)
        self.assertFalse(verdict.ok)

    def test_given_a_member_of_an_ended_run_still_listed_then_it_fails(self):
        history = History()
        views = {"g0": (["dead.1"], [])}
        verdict = check_groups(self.state(views, views), self.cluster, history)
        self.assertFalse(verdict.ok)

    def test_given_a_join_the_views_lost_then_it_fails_against_the_workload_model(self):
        history = History()
        history.joins = {(SCOPE, "g0", "bbbb.2"): 1}
        views = {"g0": (["aaaa.1"], [])}
        local = {"g0": (["aaaa.1"], ["aaaa.1"])}
        verdict = check_groups(self.state(local, views), self.cluster, history)
        self.assertFalse(verdict.ok)
        self.assertIn("bbbb.2 is listed 0 times", verdict.detail)


EXPOSITION = """# HELP chorus_members Members by status.
# TYPE chorus_members gauge
chorus_members{status="alive"} 5
chorus_members{status="dead"} 0
# TYPE chorus_broadcast_ack_seconds histogram
chorus_broadcast_ack_seconds_bucket{le="0.001"} 3
chorus_broadcast_ack_seconds_bucket{le="+Inf"} 4
chorus_broadcast_ack_seconds_sum 0.01
chorus_broadcast_ack_seconds_count 4
not a sample
"""


class MetricsSpec(unittest.TestCase):
    def test_given_an_exposition_then_samples_go_to_their_families_and_lines_that_do_not_parse_are_skipped(self):
        families = parse_exposition(EXPOSITION)
        self.assertEqual(families["chorus_members"], {'chorus_members{status="alive"}': 5.0,
                                                      'chorus_members{status="dead"}': 0.0})
        self.assertEqual(len(families["chorus_broadcast_ack_seconds"]), 4)
        self.assertEqual(set(families), {"chorus_members", "chorus_broadcast_ack_seconds"})

    def test_given_a_series_that_changes_within_a_node_run_then_its_family_moved_on_that_node(self):
        before = parse_exposition(EXPOSITION)
        after = parse_exposition(EXPOSITION.replace('status="dead"} 0', 'status="dead"} 1'))
        moved = moved_families([("n1", 1, before), ("n2", 1, before), ("n1", 1, after), ("n2", 1, before)])
        self.assertEqual(moved, {"chorus_members": {"n1"}})

    def test_given_a_restart_between_two_scrapes_then_a_counter_back_at_zero_is_not_movement(self):
        before = parse_exposition(EXPOSITION)
        reset = parse_exposition(EXPOSITION.replace("} 3", "} 0").replace("} 4", "} 0"))
        self.assertEqual(moved_families([("n1", 1, before), ("n1", 2, reset), ("n1", 2, reset)]), {})

    def test_given_a_watched_family_that_never_moved_then_metrics_moving_fails_naming_it(self):
        before = parse_exposition(EXPOSITION)
        after = parse_exposition(EXPOSITION.replace('status="dead"} 0', 'status="dead"} 1'))
        watched = {"membership": ["chorus_members"], "broadcast": ["chorus_broadcast_ack_seconds"]}
        scrapes = [("n1", 1, before), ("n1", 1, after)]
        verdict = check_metrics_moving(scrapes, moved_families(scrapes), watched)
        self.assertFalse(verdict.ok)
        self.assertIn("chorus_broadcast_ack_seconds", verdict.detail)
        self.assertNotIn("chorus_members", verdict.detail)
        self.assertTrue(check_metrics_moving(scrapes, moved_families(scrapes), {"m": ["chorus_members"]}).ok)


if __name__ == "__main__":
    unittest.main(verbosity=2)
