"""The fault schedule of a chaos run: a pure function of the seed, the node names and the duration.

The same seed gives the same schedule on any machine and any Python 3: the draws come from
SplitMix64 (below), not from the `random` module, whose algorithms may change between versions.

Rules of the schedule:
  - faults start every 1.5 to 4 s, from 3 s into the run until 5 s before its end;
  - a partition stands over the last 8 s, until the heal: every run shows a partition heal and
    converge before its checks;
  - kinds: `kill` (kill -9, restarted 1 to 4 s later on the same data_dir), `pause` (SIGSTOP,
    SIGCONT 0.5 to 4 s later), `partition` (two sides that drop each other's traffic, 3 to 10 s),
    `drop` (traffic from one node to another is dropped, one way, 2 to 8 s), `loss` (a node loses
    10 to 40 % of its outbound membership messages, delayed 0 to 50 ms, 3 to 10 s);
  - at most two nodes are down (killed or paused) at once, a node has one kill or pause at a
    time, and at most one partition stands at once;
  - a fault that would break one of these rules is drawn again as another kind, or skipped;
  - every fault still standing at the end of the run is healed then.
"""

MASK64 = (1 << 64) - 1


class SplitMix64:
    """Sebastiano Vigna's SplitMix64: a 64-bit seeded generator, the same everywhere."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def unit(self):
        """A float in [0, 1) with 53 random bits."""
        return (self.next() >> 11) / float(1 << 53)

    def uniform(self, low, high):
        return low + (high - low) * self.unit()

    def below(self, n):
        """An integer in [0, n)."""
        return self.next() % n

    def choice(self, items):
        return items[self.below(len(items))]

    def sample(self, items, k):
        """k distinct items, in the order drawn (a partial Fisher-Yates shuffle)."""
        pool = list(items)
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def fork(self, salt):
        """An independent generator for one purpose (a worker, the schedule), from this one's seed."""
        return SplitMix64(self.state ^ ((salt * 0xD1B54A32D192ED03) & MASK64))


class Fault:
    """One fault: what it is, when it starts and ends (seconds into the run), whom it touches.

    kill, pause: node. partition: sides (two lists of names). drop: source, target (traffic from
    source to target is dropped), at (the node that drops it: source drops outbound, or target
    drops inbound). loss: node, loss, delay_ms.
    """

    def __init__(self, kind, start, end, **details):
        self.kind = kind
        self.start = start
        self.end = end
        self.details = details

    def __getattr__(self, name):
        try:
            return self.details[name]
        except KeyError:
            raise AttributeError(name) from None

    def nodes_down(self):
        """The node this fault takes down (kill, pause), or None."""
        return self.details["node"] if self.kind in ("kill", "pause") else None

    def describe(self):
        if self.kind == "kill":
            return f"kill -9 {self.node}, restart after {self.end - self.start:.1f}s"
        if self.kind == "pause":
            return f"SIGSTOP {self.node}, SIGCONT after {self.end - self.start:.1f}s"
        if self.kind == "partition":
            a, b = self.sides
            return f"partition {{{','.join(a)}}} | {{{','.join(b)}}} for {self.end - self.start:.1f}s"
        if self.kind == "drop":
            how = "outbound" if self.at == self.source else "inbound"
            return (f"drop {self.source} -> {self.target} (at {self.at}, {how}) "
                    f"for {self.end - self.start:.1f}s")
        if self.kind == "loss":
            return (f"loss {self.loss:.2f} delay {self.delay_ms}ms on {self.node}'s membership "
                    f"traffic for {self.end - self.start:.1f}s")
        return self.kind

    def as_json(self):
        return dict(kind=self.kind, start=round(self.start, 3), end=round(self.end, 3), **self.details)


KINDS = ["kill", "pause", "partition", "drop", "loss"]
WEIGHTS = [2, 2, 2, 2, 1]


def _overlapping(faults, start, end):
    return [f for f in faults if f.start < end and start < f.end]


def _draw_kind(random):
    total = sum(WEIGHTS)
    point = random.below(total)
    for kind, weight in zip(KINDS, WEIGHTS):
        if point < weight:
            return kind
        point -= weight
    return KINDS[-1]


def _draw(kind, random, names, start):
    if kind == "kill":
        return Fault("kill", start, start + random.uniform(1.0, 4.0), node=random.choice(names))
    if kind == "pause":
        return Fault("pause", start, start + random.uniform(0.5, 4.0), node=random.choice(names))
    if kind == "partition":
        size = 1 + random.below(max(1, len(names) // 2))
        minority = sorted(random.sample(names, size))
        majority = [n for n in names if n not in minority]
        return Fault("partition", start, start + random.uniform(3.0, 10.0), sides=[minority, majority])
    if kind == "drop":
        source, target = random.sample(names, 2)
        at = source if random.below(2) == 0 else target
        return Fault("drop", start, start + random.uniform(2.0, 8.0), source=source, target=target, at=at)
    return Fault("loss", start, start + random.uniform(3.0, 10.0), node=random.choice(names),
                 loss=round(random.uniform(0.1, 0.4), 2), delay_ms=random.below(51))


def _allowed(fault, faults):
    during = _overlapping(faults, fault.start, fault.end)
    if fault.kind in ("kill", "pause"):
        down = {f.nodes_down() for f in during if f.nodes_down()}
        return fault.node not in down and len(down) < 2
    if fault.kind == "partition":
        return not any(f.kind == "partition" for f in during)
    return True


def make_schedule(seed, names, duration):
    """The faults of a run of `duration` seconds over the nodes `names`, sorted by start."""
    names = sorted(names)
    random = SplitMix64(seed).fork(0x5C4ED)
    faults = []
    if len(names) >= 2:
        last = _draw("partition", random, names, duration - 8.0)
        last.end = duration  # stands until the heal (the controller ends only faults that end before)
        faults.append(last)
    t = 3.0
    while t < duration - 5.0:
        for _ in range(3):  # a kind that breaks a rule is drawn again, at most twice
            fault = _draw(_draw_kind(random), random, names, t)
            if len(names) < 2 and fault.kind in ("partition", "drop"):
                continue
            if _allowed(fault, faults):
                faults.append(fault)
                break
        t += random.uniform(1.5, 4.0)
    return sorted(faults, key=lambda f: f.start)


def format_schedule(faults, duration):
    lines = [f"fault schedule ({len(faults)} faults; every fault standing at {duration:.0f}s is healed then):"]
    for fault in faults:
        lines.append(f"  {fault.start:7.2f}s .. {min(fault.end, duration):7.2f}s  {fault.describe()}")
    return "\n".join(lines)
