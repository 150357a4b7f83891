"""Carries out a fault schedule on a running cluster, then heals every fault.

Process faults are signals: `kill` is SIGKILL and, at its end, the same command on the same
data_dir; `pause` is SIGSTOP, then SIGCONT. Network faults go through each node's
`PUT /v1/debug/faults`, which replaces what the node had: the controller keeps, per node, the
union of the network faults standing on it (and the run's `--break` defects), and puts it
whenever it changes. A paused or killed node is brought up to date as soon as it runs again.
"""

import threading
import time

from chaos_cluster import call

NO_FAULTS = {"drop_inbound": [], "drop_outbound": [], "loss": 0, "delay_ms": 0, "defects": []}


def faults_of(name, standing, defects):
    """The faults body for node `name` given the network faults standing now."""
    drop_in, drop_out, loss, delay = set(), set(), 0.0, 0
    for fault in standing:
        if fault.kind == "partition":
            other = fault.sides[1] if name in fault.sides[0] else fault.sides[0]
            drop_in.update(other)
            drop_out.update(other)
        elif fault.kind == "drop" and fault.at == name:
            if name == fault.source:
                drop_out.add(fault.target)
            else:
                drop_in.add(fault.source)
        elif fault.kind == "loss" and fault.node == name:
            loss = max(loss, fault.loss)
            delay = max(delay, fault.delay_ms)
    return {"drop_inbound": sorted(drop_in), "drop_outbound": sorted(drop_out), "loss": loss,
            "delay_ms": delay, "defects": sorted(defects)}


class FaultController:
    """Runs the schedule in its own thread; `heal` ends every fault."""

    def __init__(self, cluster, schedule, duration, defects, say):
        self.cluster = cluster
        self.duration = duration
        self.defects = list(defects)
        self.say = say
        self.standing = []
        self.applied = {name: dict(NO_FAULTS) for name in cluster.names}
        self.problems = []
        self.done = {"kill": 0, "pause": 0, "partition": 0, "drop": 0, "loss": 0}
        self.events = []
        for fault in schedule:
            self.events.append((fault.start, 1, "begin", fault))
            if fault.end < duration:
                self.events.append((fault.end, 0, "end", fault))
        self.events.sort(key=lambda e: (e[0], e[1]))
        self.stop = threading.Event()
        self.thread = None
        self.t0 = None

    def start(self, t0):
        self.t0 = t0
        self.sync()
        self.thread = threading.Thread(target=self._run, name="faults", daemon=True)
        self.thread.start()

    def _run(self):
        for at, _, phase, fault in self.events:
            while not self.stop.is_set():
                wait = self.t0 + at - time.monotonic()
                if wait <= 0:
                    break
                # Wake up now and then to retry a faults body a node did not take.
                self.stop.wait(min(wait, 0.5))
                self.sync()
            if self.stop.is_set():
                return
            (self._begin if phase == "begin" else self._end)(fault)
            self.sync()

    def _note(self, text):
        self.say(f"[{time.monotonic() - self.t0:7.2f}s] {text}")

    def _begin(self, fault):
        self.done[fault.kind] += 1
        if fault.kind == "kill":
            self.cluster.kill(fault.node)
            self.applied[fault.node] = dict(NO_FAULTS)  # the next run starts without any
        elif fault.kind == "pause":
            self.cluster.pause(fault.node)
        else:
            self.standing.append(fault)
        self._note(f"begin {fault.describe()}")

    def _end(self, fault):
        if fault.kind == "kill":
            self._restart(fault.node)
        elif fault.kind == "pause":
            self.cluster.resume(fault.node)
            self._note(f"SIGCONT {fault.node}")
        else:
            self.standing.remove(fault)
            self._note(f"end {fault.describe()}")

    def _restart(self, name):
        self.cluster.start(name)
        if self.cluster.wait_healthy(name, 20.0):
            self._note(f"restarted {name} (uid {self.cluster.nodes[name].uid})")
        else:
            self.cluster.kill(name)
            self.problems.append(f"{name} did not come back within 20 s of its restart (see its log)")
            self._note(f"{name} did not come back after its restart")

    def sync(self):
        """Puts each running node's faults where they differ from what it has."""
        for name in self.cluster.up():
            wanted = faults_of(name, self.standing, self.defects)
            if self.applied.get(name) == wanted:
                continue
            node = self.cluster.nodes[name]
            if wanted == NO_FAULTS:
                answer = call(node, "DELETE", "/v1/debug/faults", timeout=5.0)
            else:
                answer = call(node, "PUT", "/v1/debug/faults", wanted, timeout=5.0)
            if answer.ok:
                self.applied[name] = wanted
            elif answer.status is not None:
                self.problems.append(f"{name} refused its faults {wanted}: {answer}")
                self.applied[name] = wanted  # not again: the answer will not change

    def heal(self):
        """Stops the schedule and ends every fault: SIGCONT, restarts, no network fault, no defect."""
        self.stop.set()
        if self.thread:
            self.thread.join()
        for name in self.cluster.names:
            state = self.cluster.nodes[name].state
            if state == "paused":
                self.cluster.resume(name)
                self._note(f"heal: SIGCONT {name}")
            elif state in ("killed", "starting"):
                self._note(f"heal: restart {name}")
                self._restart(name)
        self.standing = []
        self.defects = []
        self.sync()
        self._note("heal: every network fault cleared")
