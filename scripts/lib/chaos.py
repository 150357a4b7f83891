#!/usr/bin/env python3
"""Chaos run driver for `scripts/chaos` (Python 3, standard library only).

Starts the nodes of CONFIG as real `chorus agent` processes, runs a workload through their
admin APIs for --duration seconds while a fault schedule drawn from --seed kills, pauses,
partitions and cuts them, then heals every fault, waits for the cluster to converge and checks
its invariants (see chaos_checks.py). Prints the schedule, the faults as they happen, one
verdict line per invariant, and exits 0 when all pass, 1 when one fails, 2 on a bad command
line, 3 when the run could not be carried out (a node would not start, ...).
"""

import argparse
import json
import os
import signal
import sys
import time

from chaos_checks import (Verdict, check_broadcasts, check_groups, check_membership, check_monotonic_reads,
                          check_read_your_writes, check_stores_equal, check_writes_present, collect)
from chaos_cluster import Cluster, SetupError, call
from chaos_faults import FaultController
from chaos_metrics import MetricsScraper, check_metrics_moving, format_movement, moved_families
from chaos_schedule import SplitMix64, format_schedule, make_schedule
from chaos_workload import History, Workload

DEFECTS = ["ack_without_delivery"]

EPILOG = """\
what the run checks, once every fault is healed and the cluster has converged:
  membership-view       every node lists every node alive, with the uid of its current run
  group-views           every node shows the same members for every group; each list is the
                        union of the members' own nodes' local members; no member of a killed
                        node run is left; members listed as the workload's acked joins minus leaves
  broadcasts-delivered  every acknowledged broadcast reached a member of the emitter group. A
                        member of a node that was killed later counts as reached when its
                        journal (recorder_journal: true, <data_dir>/recorders/) holds the event:
                        the journal line is written before the ack, and what a member took is
                        delivered even if its process died after. The config must set
                        recorder_journal: true, or such events would count as lost.
  writes-present        every acknowledged epoch write is on every node
  epochs-monotonic      no epoch read on a node is lower than one an earlier read (one that had
                        answered before it began) saw on the same node and key, restarts included
  read-your-writes      after an LSN await answered ready on a node, a read there sees the write
  stores-equal          every key written holds the same epoch on every node
  metrics-moving        (with --scrape-metrics) every watched family of /metrics (membership,
                        groups, broadcast, replication, dropped packets) changed between two
                        scrapes of one node run, on some node

exit status: 0 every invariant holds; 1 one does not (or a node would not restart);
2 bad command line; 3 the run could not be carried out (nodes would not start, ports taken).

the config needs debug_faults: true; its data_dirs (under .chorus/) are wiped at the start.
logs and report.json go to .chorus/chaos/<config name>/.
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="scripts/chaos", description="Chaos run: a workload under seeded faults, then invariant checks.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="cluster config, e.g. cluster-configs/chaos-5.yaml")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of workload under faults (default 120)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault schedule and the workload (default 1)")
    parser.add_argument("--break", dest="defects", action="append", default=[], choices=DEFECTS, metavar="DEFECT",
                        help="make every node break a guarantee on purpose (debug fault defect), so the run "
                             f"must fail; one of: {', '.join(DEFECTS)}")
    parser.add_argument("--workers", type=int, default=4, help="workload threads (default 4)")
    parser.add_argument("--converge-timeout", type=float, default=60.0,
                        help="seconds to wait for convergence after the heal (default 60)")
    parser.add_argument("--scrape-metrics", metavar="DIR",
                        help="scrape every running node's GET /metrics every 5 s into DIR/<node>-<time>.prom "
                             "and check that each watched family moves (verdict metrics-moving)")
    parser.add_argument("--chorus", default=os.environ.get("CHORUS_BIN", "chorus"), help="the chorus binary")
    args = parser.parse_args(argv)
    if args.duration < 10:
        parser.error("--duration must be at least 10 seconds")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def say(text):
    print(text, flush=True)


def progress(text):
    sys.stderr.write(f"chaos: {text}\n")
    sys.stderr.flush()


def start_cluster(cluster):
    cluster.check_ports_free()
    cluster.wipe_data()
    for name in cluster.names:
        cluster.start(name)
    for name in cluster.names:
        if not cluster.wait_healthy(name, 30.0):
            raise SetupError(f"{name} did not answer /v1/health within 30 s (log: {cluster.run_dir}/{name}.log)")
        answer = call(cluster.nodes[name], "DELETE", "/v1/debug/faults", timeout=5.0)
        if not answer.ok:
            raise SetupError(f"{name} refuses fault injection ({answer}); the config needs debug_faults: true")
    deadline = time.monotonic() + 30.0
    while True:
        verdict = check_membership(collect_members(cluster), cluster)
        if verdict.ok:
            return
        if time.monotonic() > deadline:
            raise SetupError(f"the cluster did not form within 30 s: {verdict.detail}")
        time.sleep(0.2)


def collect_members(cluster):
    state = {}
    for name in cluster.names:
        answer = call(cluster.nodes[name], "GET", "/v1/members", timeout=5.0)
        state[name] = {"members": answer.body if answer.ok else None}
    return state


def converge(cluster, history, timeout):
    """Polls the nodes until the convergence invariants hold or `timeout` passes; returns the
    last state and its verdicts."""
    start = time.monotonic()
    last_report = 0.0
    while True:
        state = collect(cluster)
        verdicts = [check_membership(state, cluster), check_groups(state, cluster, history),
                    check_writes_present(state, history), check_stores_equal(state)]
        elapsed = time.monotonic() - start
        errors = [f"{n}: {e}" for n, v in state.items() for e in v["errors"]]
        if all(v.ok for v in verdicts) and not errors:
            progress(f"converged {elapsed:.1f}s after the heal")
            return state, verdicts
        if elapsed > timeout:
            progress(f"not converged {timeout:.0f}s after the heal; checking what is there")
            return state, verdicts
        if elapsed - last_report >= 2.0:
            last_report = elapsed
            pending = [f"{v.name}: {v.detail[:160]}" for v in verdicts if not v.ok] + errors[:2]
            progress(f"converging ({elapsed:.0f}s): " + " | ".join(pending))
        time.sleep(0.5)


def run(args, root):
    config = os.path.realpath(args.config)
    config_name = os.path.splitext(os.path.basename(config))[0]
    run_dir = os.path.join(root, ".chorus", "chaos", config_name)
    os.makedirs(run_dir, exist_ok=True)
    for file in os.listdir(run_dir):
        if file.endswith(".log") or file == "report.json":
            os.remove(os.path.join(run_dir, file))
    cluster = Cluster(args.chorus, config, root, run_dir)
    schedule = make_schedule(args.seed, cluster.names, args.duration)
    say(f"chaos run: {config_name}, nodes {' '.join(cluster.names)}, duration {args.duration:.0f}s, seed {args.seed}")
    say(format_schedule(schedule, args.duration))
    if args.defects:
        say(f"  defects on every node for the whole run (--break): {', '.join(args.defects)}")
    history = History()
    random = SplitMix64(args.seed)
    workload = Workload(cluster, history, random.fork(0x3011), args.workers)
    controller = FaultController(cluster, schedule, args.duration, args.defects, say)
    scraper = None
    moved = None
    try:
        progress(f"starting {len(cluster.names)} nodes (logs in {run_dir})")
        start_cluster(cluster)
        problem = workload.prepare()
        if problem:
            raise SetupError(problem)
        if args.scrape_metrics:
            scraper = MetricsScraper(cluster, args.scrape_metrics)
            scraper.start()
            progress(f"scraping every node's /metrics every {scraper.interval:.0f}s into {args.scrape_metrics}")
        progress(f"cluster up; workload with {args.workers} workers and faults for {args.duration:.0f}s")
        t0 = time.monotonic()
        controller.start(t0)
        workload.start()
        next_report = 10.0
        while time.monotonic() - t0 < args.duration:
            time.sleep(max(0.0, min(1.0, args.duration - (time.monotonic() - t0))))
            elapsed = time.monotonic() - t0
            if elapsed >= next_report:
                next_report += 10.0
                counts = history.counts
                progress(f"{elapsed:5.0f}s: up {','.join(cluster.up())}; {counts.get('epoch writes acknowledged', 0)} writes, "
                         f"{counts.get('broadcasts acknowledged', 0)} broadcasts acked, {counts.get('group joins', 0)} joins")
        workload.stop.set()
        controller.heal()  # paused nodes resume, so requests in flight to them answer
        workload.finish()
        progress(f"healed; waiting up to {args.converge_timeout:.0f}s for convergence")
        state, verdicts = converge(cluster, history, args.converge_timeout)
        verdicts.insert(2, check_broadcasts(cluster, history))
        verdicts.insert(4, check_monotonic_reads(history))
        verdicts.insert(5, check_read_your_writes(history))
        if controller.problems:
            verdicts.append(Verdict("faults-carried-out", False, "; ".join(controller.problems[:5])))
        if scraper is not None:
            scraper.stop()
            moved = moved_families(scraper.scrapes)
            verdicts.append(check_metrics_moving(scraper.scrapes, moved))
    finally:
        if scraper is not None and not scraper.stopped:
            scraper.stop(last_scrape=False)
        cluster.end_all()
    report(args, schedule, controller, history, verdicts, run_dir, scraper, moved)
    return 0 if all(v.ok for v in verdicts) else 1


def report(args, schedule, controller, history, verdicts, run_dir, scraper, moved):
    done = ", ".join(f"{kind} {n}" for kind, n in controller.done.items())
    say(f"faults carried out: {done}")
    say("workload: " + ", ".join(f"{what} {n}" for what, n in sorted(history.counts.items())))
    if history.unexpected:
        say(f"unexpected answers ({len(history.unexpected)}), first ones:")
        for line in history.unexpected[:5]:
            say(f"  {line}")
    if moved is not None:
        say(f"metrics ({len(scraper.scrapes)} scrapes, in {args.scrape_metrics}):")
        for line in format_movement(moved):
            say(line)
    say("verdicts:")
    for verdict in verdicts:
        say(f"  {verdict.line()}")
    failed = [v.name for v in verdicts if not v.ok]
    say(f"chaos run {'FAILED: ' + ', '.join(failed) if failed else 'passed'} (seed {args.seed}, logs in {run_dir})")
    with open(os.path.join(run_dir, "report.json"), "w", encoding="utf-8") as out:
        json.dump({"seed": args.seed, "duration": args.duration, "defects": args.defects,
                   "schedule": [f.as_json() for f in schedule], "counts": history.counts,
                   "unexpected": history.unexpected,
                   "verdicts": [{"name": v.name, "ok": v.ok, "detail": v.detail} for v in verdicts]}, out, indent=1)


def interrupt(*_):
    raise KeyboardInterrupt()


def main(argv):
    args = parse_args(argv)
    root = os.environ.get("CHORUS_ROOT") or os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
    # SIGTERM (and SIGHUP) end the run as Ctrl-C does: every node started is ended first.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        return run(args, root)
    except SetupError as error:
        progress(f"error: {error}")
        return 3
    except KeyboardInterrupt:
        progress("interrupted; every node this run started is ended")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
