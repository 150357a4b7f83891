"""The workload of a chaos run, through each node's admin API, and the history it leaves.

Workers (threads) pick a running node and an operation at random (each worker has its own
generator, forked from the run's seed), and record every answer in the `History`:
  - group joins and leaves of recorders in the scope `chaos` (groups g0..g3): a new recorder,
    or one of the node's recorders joined once more, or one join undone;
  - joins of new recorders to the emitter group of (chaos, orders), and leaves from it;
  - acknowledged broadcasts to that emitter group (`?ack=true`), each with a new event id;
  - epoch writes (PUT, on 16 keys, each write one to three above the key's last epoch), most
    followed by an LSN await on another running node and a read there;
  - epoch reads of one key on two or three running nodes.
An operation whose node does not answer (killed meanwhile) has an unknown outcome and is only
counted: it is neither an acknowledged write nor an acknowledged broadcast.
"""

import threading
import time
import urllib.parse

from chaos_cluster import call

SCOPE = "chaos"
GROUPS = ["g0", "g1", "g2", "g3"]
EMITTER_STORE, EMITTER_SUBSCRIPTION = "chaos", "orders"
EMITTER_SCOPE = "emitters"
TRACKER = "chaos"
CLIENTS = ["c0", "c1"]
KEYS = [(c, t, p, "exclusive") for c in CLIENTS for t in ("t0", "t1", "t2", "t3") for p in ("p0", "p1")]
# Recorders a node's current run gets at most, per kind (each holds a journal file open).
MAX_GROUP_RECORDERS = 12
MAX_EMITTER_RECORDERS = 3


def epoch_path(key):
    return "/v1/epochs/" + "/".join(urllib.parse.quote(part, safe="") for part in key)


def key_name(key):
    return "/".join(key)


class History:
    """Everything the workload did and saw, for the checks."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        # Acknowledged joins minus acknowledged leaves, per (scope, group, member); members with an
        # operation of unknown outcome are in `uncertain` and left out of the model.
        self.joins = {}
        self.uncertain = set()
        # Acknowledged broadcasts: event id -> receipt (member, path) and the node asked.
        self.acked_broadcasts = {}
        # Acknowledged epoch writes: dicts key, epoch (written), held (answered), lsn, node.
        self.acked_writes = []
        # Epoch reads: dicts node, uid, key, value (None: no epoch), start, end (monotonic).
        self.reads = []
        # LSN awaits answered ready, and the read that followed on the same node.
        self.read_your_writes = []
        # Answers no operation should get (a 5xx, a refusal the harness did not expect).
        self.unexpected = []

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def note_unexpected(self, node, what, answer):
        with self.lock:
            self.unexpected.append(f"{what} on {node}: {answer}")

    def changed(self, place, delta):
        with self.lock:
            self.joins[place] = self.joins.get(place, 0) + delta

    def unknown(self, place):
        with self.lock:
            self.uncertain.add(place)


class Recorders:
    """The recorders of each node's current run, as the workload made and joined them."""

    def __init__(self):
        self.lock = threading.Lock()
        # node -> (uid, {member: {(scope, group): joins}}) for the group recorders, and the same
        # for the emitter recorders (their one place is the emitter group).
        self.by_node = {}

    def of(self, node, kind):
        """This node's recorders of `kind` ("group" or "emitter"), emptied when the node runs
        with another uid than before. Call under `lock`."""
        entry = self.by_node.get(node.name)
        if entry is None or entry[0] != node.uid:
            entry = (node.uid, {"group": {}, "emitter": {}})
            self.by_node[node.name] = entry
        return entry[0], entry[1][kind]

    @staticmethod
    def joined(members):
        return [(m, place) for m, places in members.items() for place, n in places.items() if n > 0]


class Workload:
    """The workers, their operations, and what they need to pick an operation's target."""

    def __init__(self, cluster, history, random, workers):
        self.cluster = cluster
        self.history = history
        self.random = random
        self.workers = workers
        self.recorders = Recorders()
        self.stop = threading.Event()
        self.threads = []
        self.epoch_lock = threading.Lock()
        self.next_epoch = {key: 0 for key in KEYS}
        self.event_number = 0

    # -- setup, before any fault --------------------------------------------------------------

    def prepare(self):
        """Starts the epoch clients on every node and gives each node an emitter recorder."""
        for name in self.cluster.names:
            node = self.cluster.nodes[name]
            for client in CLIENTS:
                answer = call(node, "PUT", f"/v1/epochs/{client}")
                if not answer.ok:
                    return f"PUT /v1/epochs/{client} on {name}: {answer}"
            if not self._emitter_join(node):
                return f"no emitter recorder could be made on {name}"
        return None

    # -- the workers ---------------------------------------------------------------------------

    def start(self):
        for index in range(self.workers):
            random = self.random.fork(index + 1)
            thread = threading.Thread(target=self._work, args=(index, random), name=f"worker-{index}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def finish(self):
        """Stops the workers once their operations in flight have answered."""
        self.stop.set()
        for thread in self.threads:
            thread.join()

    OPERATIONS = [("group", 25), ("emitters", 5), ("broadcast", 30), ("write", 25), ("read_several", 15)]

    def _work(self, index, random):
        total = sum(weight for _, weight in self.OPERATIONS)
        while not self.stop.is_set():
            up = self.cluster.up()
            if not up:
                time.sleep(0.05)
                continue
            node = self.cluster.nodes[random.choice(up)]
            point = random.below(total)
            for operation, weight in self.OPERATIONS:
                if point < weight:
                    break
                point -= weight
            getattr(self, "_" + operation)(node, random, index)
            time.sleep(random.uniform(0.005, 0.03))

    # -- groups --------------------------------------------------------------------------------

    def _group(self, node, random, _):
        with self.recorders.lock:
            uid, members = self.recorders.of(node, "group")
            joined, mine = Recorders.joined(members), list(members)
        choice = random.below(3)
        group = random.choice(GROUPS)
        if choice == 0 and joined:
            member, (scope, group) = random.choice(joined)
            self._leave(node, uid, "group", scope, group, member)
        elif (choice == 1 and mine) or len(mine) >= MAX_GROUP_RECORDERS:
            self._join(node, uid, "group", f"/v1/scopes/{SCOPE}/groups/{group}/members", (SCOPE, group),
                       random.choice(mine))
        else:
            self._join(node, uid, "group", f"/v1/scopes/{SCOPE}/groups/{group}/members", (SCOPE, group))

    def _join(self, node, uid, kind, path, place, member=None):
        """Joins a new recorder (member None) or `member` once more to `place` (scope, group; None
        when the answer names it); counts the join."""
        answer = call(node, "POST", path, None if member is None else {"member": member})
        if answer.status in (200, 201):
            member = answer.field("member")
            place = (answer.field("scope"), answer.field("group"))
            with self.recorders.lock:
                now_uid, members = self.recorders.of(node, kind)
                if now_uid == uid:
                    places = members.setdefault(member, {})
                    places[place] = places.get(place, 0) + 1
            self.history.changed(place + (member,), 1)
            self.history.count(f"{kind} joins")
            return True
        if answer.status is None and member is not None and place is not None:
            self.history.unknown(place + (member,))
        self._other(f"{kind} joins", node, answer)
        return False

    def _leave(self, node, uid, kind, scope, group, member):
        place = (scope, group, member)
        with self.recorders.lock:
            now_uid, members = self.recorders.of(node, kind)
            if now_uid != uid or members.get(member, {}).get((scope, group), 0) <= 0:
                return
            members[member][(scope, group)] -= 1  # taken now, so no other worker leaves it too
        answer = call(node, "DELETE", f"/v1/scopes/{scope}/groups/{urllib.parse.quote(group, safe='')}/members/{member}")
        if answer.status == 200:
            self.history.changed(place, -1)
            self.history.count(f"{kind} leaves")
        else:
            if answer.status is None:
                self.history.unknown(place)
            self._other(f"{kind} leaves", node, answer)

    # -- emitters and acknowledged broadcasts --------------------------------------------------

    EMITTERS_PATH = f"/v1/emitters/{EMITTER_STORE}/{EMITTER_SUBSCRIPTION}/members"

    def _emitter_join(self, node):
        return self._join(node, node.uid, "emitter", self.EMITTERS_PATH, None)

    def _emitters(self, node, random, _):
        with self.recorders.lock:
            uid, members = self.recorders.of(node, "emitter")
            joined = Recorders.joined(members)
            mine = [(m, next(iter(places))) for m, places in members.items()]
        if len(joined) >= 2 and random.below(2) == 0:
            member, (scope, group) = random.choice(joined)
            self._leave(node, uid, "emitter", scope, group, member)
        elif len(mine) >= MAX_EMITTER_RECORDERS:
            member, place = random.choice(mine)
            self._join(node, uid, "emitter", self.EMITTERS_PATH, place, member)
        else:
            self._join(node, uid, "emitter", self.EMITTERS_PATH, None)

    def _broadcast(self, node, random, index):
        with self.epoch_lock:
            self.event_number += 1
            event_id = f"e{self.event_number}"
        body = {"event_id": event_id, "event_type": "ChaosEvent", "stream_id": f"stream-{index}",
                "data": {"worker": index}}
        answer = call(node, "POST", f"/v1/emitters/{EMITTER_STORE}/{EMITTER_SUBSCRIPTION}/broadcast"
                                    "?ack=true&timeout_ms=4000&attempt_timeout_ms=500", body)
        if answer.status == 200:
            with self.history.lock:
                self.history.acked_broadcasts[event_id] = {"member": answer.field("member"),
                                                           "path": answer.field("path"), "node": node.name}
            self.history.count("broadcasts acknowledged")
        elif answer.status == 504 and answer.field("error") == "not_acknowledged":
            self.history.count("broadcasts not acknowledged (504)")
        elif answer.status == 409 and answer.field("error") == "no_emitters":
            self.history.count("broadcasts without emitters (409)")
        else:
            self._other("broadcasts", node, answer)

    # -- stores --------------------------------------------------------------------------------

    def _write(self, node, random, _):
        key = random.choice(KEYS)
        with self.epoch_lock:
            self.next_epoch[key] += 1 + random.below(3)
            epoch = self.next_epoch[key]
        answer = call(node, "PUT", epoch_path(key), {"epoch": epoch})
        if answer.status != 200:
            self._other("epoch writes", node, answer)
            return
        write = {"key": key, "epoch": epoch, "held": answer.field("epoch"), "lsn": answer.field("lsn"),
                 "node": node.name}
        with self.history.lock:
            self.history.acked_writes.append(write)
        self.history.count("epoch writes acknowledged")
        others = [n for n in self.cluster.up() if n != node.name]
        if not others or random.below(10) >= 7:
            return
        other = self.cluster.nodes[random.choice(others)]
        waited = call(other, "POST", f"/v1/lsn/{TRACKER}/await", {"lsn": write["lsn"], "timeout_ms": 2000})
        if waited.status == 408:
            self.history.count("LSN awaits timed out (408)")
            return
        if waited.status != 200:
            self._other("LSN awaits", other, waited)
            return
        self.history.count("LSN awaits ready")
        value = self._read(other, key)
        if value is not False:
            with self.history.lock:
                self.history.read_your_writes.append({"key": key, "epoch": epoch, "lsn": write["lsn"],
                                                      "writer": node.name, "reader": other.name, "read": value})

    def _read(self, node, key):
        """Reads one epoch and records it; the value (None: no epoch), or False without an answer."""
        uid = node.uid
        start = time.monotonic()
        answer = call(node, "GET", epoch_path(key))
        end = time.monotonic()
        if answer.status == 200:
            value = answer.field("epoch")
        elif answer.status == 404 and answer.field("error") == "not_found":
            value = None
        else:
            self._other("epoch reads", node, answer)
            return False
        with self.history.lock:
            self.history.reads.append({"node": node.name, "uid": uid, "key": key, "value": value,
                                       "start": start, "end": end})
        self.history.count("epoch reads")
        return value

    def _read_several(self, node, random, _):
        key = random.choice(KEYS)
        up = self.cluster.up()
        names = [node.name] + random.sample([n for n in up if n != node.name], min(len(up) - 1, 1 + random.below(2)))
        for name in names:
            self._read(self.cluster.nodes[name], key)

    def _other(self, what, node, answer):
        """An answer that is not the operation's success: counted, and kept when unexpected."""
        if answer.status is None:
            self.history.count(f"{what}: no answer")
        elif answer.status in (404, 409) and answer.field("error") in ("not_joined", "member_ended", "not_local"):
            self.history.count(f"{what}: refused ({answer.field('error')})")
        else:
            self.history.count(f"{what}: unexpected {answer.status}")
            self.history.note_unexpected(node.name, what, answer)
