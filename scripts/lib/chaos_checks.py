"""The invariants a chaos run checks once every fault is healed, and the state they read.

`collect` reads what every node shows through its admin API (members, group views, the epochs
of every key the workload wrote); the `check_*` functions are pure: they take that state and
the workload's `History` and return a `Verdict`. Invariants:

  membership-view       every node lists every node, each with the uid of its current run, alive
  group-views           every node shows the same members for every group of the run's scopes;
                        that list is the union of what each member's own node lists as local;
                        a member of an ended node run is listed nowhere; and each member the
                        workload knows the fate of is listed as many times as its acknowledged
                        joins minus its acknowledged leaves
  broadcasts-delivered  every acknowledged broadcast was handed to a member of the emitter group:
                        a recorder of a running node lists it, or, for a recorder whose node run
                        was killed, its journal on disk holds it (the journal line is written
                        before the ack leaves, so a member that was killed after taking the
                        event still counts as delivered; one killed before never acked it)
  writes-present        every acknowledged epoch write is on every node: each node holds at least
                        the epoch the write answered
  epochs-monotonic      no epoch read on a node is lower than one read on the same node and key
                        by a read that had answered before it began (restarts included)
  read-your-writes      after an LSN await answered ready on a node, the read there sees the write
  stores-equal          every key the workload wrote has the same epoch on every node
"""

import json
import os

from chaos_cluster import call
from chaos_workload import EMITTER_SCOPE, KEYS, SCOPE, epoch_path, key_name


class Verdict:
    def __init__(self, name, ok, detail):
        self.name = name
        self.ok = ok
        self.detail = detail

    def line(self):
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name:<21} {self.detail}"


def member_uid(member):
    """The uid of the node run a member id (`<uid>.<serial>`) belongs to."""
    return member.rsplit(".", 1)[0]


# -- the state of the nodes ----------------------------------------------------------------------


def collect(cluster):
    """What each node shows now: {node: {"members", "groups": {scope: {group: (members, local)}},
    "scopes": {scope: groups}, "epochs": {key: value}}}; a node that does not answer a request
    has an "errors" list."""
    state = {}
    for name in cluster.names:
        node = cluster.nodes[name]
        view = {"errors": [], "groups": {}, "scopes": {}, "epochs": {}}
        answer = call(node, "GET", "/v1/members", timeout=5.0)
        view["members"] = answer.body if answer.ok else None
        if not answer.ok:
            view["errors"].append(f"GET /v1/members: {answer}")
        for scope in (SCOPE, EMITTER_SCOPE):
            answer = call(node, "GET", f"/v1/scopes/{scope}/groups", timeout=5.0)
            if not answer.ok:
                view["errors"].append(f"GET /v1/scopes/{scope}/groups: {answer}")
                continue
            view["scopes"][scope] = answer.field("groups", [])
        state[name] = view
    groups = {scope: sorted({g for v in state.values() for g in v["scopes"].get(scope, [])})
              for scope in (SCOPE, EMITTER_SCOPE)}
    for name in cluster.names:
        node, view = cluster.nodes[name], state[name]
        for scope, names in groups.items():
            for group in names:
                path = f"/v1/scopes/{scope}/groups/{_quote(group)}"
                answer = call(node, "GET", path, timeout=5.0)
                if answer.ok:
                    view["groups"].setdefault(scope, {})[group] = (answer.field("members", []),
                                                                   answer.field("local_members", []))
                else:
                    view["errors"].append(f"GET {path}: {answer}")
        for key in KEYS:
            answer = call(node, "GET", epoch_path(key), timeout=5.0)
            if answer.status == 200:
                view["epochs"][key] = answer.field("epoch")
            elif answer.status == 404 and answer.field("error") == "not_found":
                view["epochs"][key] = None
            else:
                view["errors"].append(f"GET {epoch_path(key)}: {answer}")
    return state


def _quote(text):
    from urllib.parse import quote
    return quote(text, safe="")


# -- convergence invariants (they are waited for) ----------------------------------------------


def check_membership(state, cluster):
    expected = sorted((n, cluster.nodes[n].uid, "alive") for n in cluster.names)
    wrong = []
    for name, view in state.items():
        if view["members"] is None:
            wrong.append(f"{name} does not answer")
            continue
        seen = sorted((m.get("name"), m.get("uid"), m.get("status")) for m in view["members"])
        if seen != expected:
            extra, lacking = sorted(set(seen) - set(expected)), sorted(set(expected) - set(seen))
            parts = []
            if extra:
                parts.append("lists " + ", ".join(f"{n} {u} {s}" for n, u, s in extra))
            if lacking:
                parts.append("lacks " + ", ".join(f"{n} {u} alive" for n, u, _ in lacking))
            wrong.append(f"{name} " + (" and ".join(parts) if parts else "lists an entry twice"))
    if wrong:
        return Verdict("membership-view", False, "; ".join(wrong))
    return Verdict("membership-view", True, f"all {len(state)} nodes list the same {len(expected)} members, all alive, current runs")


def check_groups(state, cluster, history):
    current = {cluster.nodes[n].uid for n in cluster.names}
    wrong = []
    checked_groups = 0
    listed = {}
    for scope in (SCOPE, EMITTER_SCOPE):
        lists = {name: view["scopes"].get(scope) for name, view in state.items()}
        if len({json.dumps(v) for v in lists.values()}) > 1:
            wrong.append(f"scope {scope}: groups differ: " + ", ".join(f"{n}={v}" for n, v in sorted(lists.items())))
        groups = sorted({g for v in state.values() for g in v["groups"].get(scope, {})})
        for group in groups:
            checked_groups += 1
            views = {name: view["groups"].get(scope, {}).get(group) for name, view in state.items()}
            members = {name: (sorted(v[0]) if v else None) for name, v in views.items()}
            local_union = sorted(m for v in views.values() if v for m in v[1])
            distinct = {json.dumps(v) for v in members.values()}
            if len(distinct) > 1:
                wrong.append(f"{scope}/{group} differs: " + "; ".join(f"{n}: {v}" for n, v in sorted(members.items())))
                continue
            agreed = next(iter(members.values())) or []
            if agreed != local_union:
                wrong.append(f"{scope}/{group}: every node lists {agreed}, the members' own nodes list {local_union}")
            for member in set(agreed):
                listed[(scope, group, member)] = agreed.count(member)
                if member_uid(member) not in current:
                    wrong.append(f"{scope}/{group}: {member} belongs to an ended node run and is still listed")
    modelled = 0
    with history.lock:
        joins = dict(history.joins)
        uncertain = set(history.uncertain)
    for place, count in sorted(joins.items()):
        scope, group, member = place
        if place in uncertain or member_uid(member) not in current:
            continue
        modelled += 1
        shown = listed.get(place, 0)
        if shown != count:
            wrong.append(f"{scope}/{group}: {member} is listed {shown} times; the workload's acknowledged joins "
                         f"minus leaves say {count}")
    if wrong:
        return Verdict("group-views", False, "; ".join(wrong[:8]) + (f" (and {len(wrong) - 8} more)" if len(wrong) > 8 else ""))
    return Verdict("group-views", True, f"{checked_groups} groups identical on every node, each the union of the local "
                                        f"members; {modelled} members listed as their acknowledged joins and leaves say")


def check_stores_equal(state):
    differ = []
    for key in KEYS:
        values = {name: view["epochs"].get(key, "?") for name, view in state.items()}
        if len(set(values.values())) > 1:
            differ.append(f"{key_name(key)}: " + " ".join(f"{n}={v}" for n, v in sorted(values.items())))
    if differ:
        return Verdict("stores-equal", False, f"{len(differ)} of {len(KEYS)} keys differ: " + "; ".join(differ[:5]))
    return Verdict("stores-equal", True, f"all {len(KEYS)} keys hold the same epoch on every node")


def check_writes_present(state, history):
    with history.lock:
        writes = list(history.acked_writes)
    missing = []
    for write in writes:
        for name, view in state.items():
            value = view["epochs"].get(write["key"])
            if value is None or value < write["held"]:
                missing.append(f"{key_name(write['key'])} epoch {write['epoch']} (answered {write['held']}, "
                               f"lsn {write['lsn']}, written on {write['node']}): {name} holds {value}")
    if missing:
        return Verdict("writes-present", False, f"{len(missing)} (write, node) pairs lack the write: " + "; ".join(missing[:5]))
    return Verdict("writes-present", True, f"all {len(writes)} acknowledged writes on all {len(state)} nodes")


# -- history invariants --------------------------------------------------------------------------


def _lower(value, than):
    """Whether epoch `value` is lower than `than` (None, no epoch, is lower than any epoch)."""
    if than is None:
        return False
    return value is None or value < than


def check_monotonic_reads(history):
    with history.lock:
        reads = list(history.reads)
    by_place = {}
    for read in reads:
        by_place.setdefault((read["node"], read["key"]), []).append(read)
    violations = []
    for (node, key), place_reads in sorted(by_place.items()):
        by_end = sorted(place_reads, key=lambda r: r["end"])
        highest = None
        i = 0
        for read in sorted(place_reads, key=lambda r: r["start"]):
            while i < len(by_end) and by_end[i]["end"] < read["start"]:
                if highest is None or _lower(highest["value"], by_end[i]["value"]):
                    highest = by_end[i]
                i += 1
            if highest is not None and _lower(read["value"], highest["value"]):
                run = "the same run" if read["uid"] == highest["uid"] else f"a later run ({highest['uid']} -> {read['uid']})"
                violations.append(f"{node} {key_name(key)}: read {read['value']} after {highest['value']}, in {run}")
    if violations:
        return Verdict("epochs-monotonic", False, f"{len(violations)} lower reads: " + "; ".join(violations[:5]))
    return Verdict("epochs-monotonic", True, f"{len(reads)} reads on {len(by_place)} (node, key) pairs, none lower than an earlier one")


def check_read_your_writes(history):
    with history.lock:
        checks = list(history.read_your_writes)
    stale = [c for c in checks if _lower(c["read"], c["epoch"])]
    if stale:
        return Verdict("read-your-writes", False, f"{len(stale)} reads after a ready LSN await missed the write: " + "; ".join(
            f"{key_name(c['key'])} epoch {c['epoch']} written on {c['writer']}, {c['reader']} read {c['read']}" for c in stale[:5]))
    return Verdict("read-your-writes", True, f"{len(checks)} reads after a ready LSN await, each saw its write")


# -- acknowledged broadcasts ---------------------------------------------------------------------


def delivered_events(cluster):
    """Event ids each recorder got: {member: set}. A recorder of a node's current run is read
    through GET /v1/recorders/{member}/messages; one of an ended run from its journal file
    (<data_dir>/recorders/<member>.jsonl). Also returns notes on what could not be read."""
    seen, notes = {}, []
    for name in cluster.names:
        node = cluster.nodes[name]
        answer = call(node, "GET", "/v1/recorders", timeout=10.0)
        live = [r["member"] for r in answer.field("recorders", [])] if answer.ok else []
        if not answer.ok:
            notes.append(f"{name}: GET /v1/recorders: {answer}")
        for recorder in answer.field("recorders", []) if answer.ok else []:
            if recorder.get("dropped"):
                notes.append(f"{name}: recorder {recorder['member']} dropped {recorder['dropped']} messages")
        for member in live:
            page = call(node, "GET", f"/v1/recorders/{member}/messages?limit=10000", timeout=10.0)
            if page.ok:
                seen.setdefault(member, set()).update(
                    m["event"]["event_id"] for m in page.field("messages", []) if m.get("kind") == "event")
            else:
                notes.append(f"{name}: messages of {member}: {page}")
        journals = os.path.join(cluster.data_path(node), "recorders")
        for file in sorted(os.listdir(journals)) if os.path.isdir(journals) else []:
            member = file[:-len(".jsonl")]
            if not file.endswith(".jsonl") or member in live:
                continue
            with open(os.path.join(journals, file), encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by SIGKILL
                    if message.get("kind") == "event":
                        seen.setdefault(member, set()).add(message["event"]["event_id"])
    return seen, notes


def check_broadcasts(cluster, history):
    seen, notes = delivered_events(cluster)
    with history.lock:
        acked = dict(history.acked_broadcasts)
    anywhere = set().union(*seen.values()) if seen else set()
    current = {cluster.nodes[n].uid for n in cluster.names}
    lost = [(event, receipt) for event, receipt in sorted(acked.items()) if event not in anywhere]
    at_receipt = sum(1 for event, receipt in acked.items() if event in seen.get(receipt["member"], ()))
    from_journals = sum(1 for event, receipt in acked.items() if member_uid(receipt["member"]) not in current)
    suffix = f" ({'; '.join(notes[:3])})" if notes else ""
    if lost:
        return Verdict("broadcasts-delivered", False, f"{len(lost)} of {len(acked)} acknowledged broadcasts reached no member: "
                       + "; ".join(f"{e} (acked by {r['member']}, {r['path']}, asked on {r['node']})" for e, r in lost[:5]) + suffix)
    return Verdict("broadcasts-delivered", True, f"all {len(acked)} acknowledged broadcasts delivered ({at_receipt} to the member "
                   f"the ack named; {from_journals} acked by members of since-killed runs, read from journals){suffix}")
