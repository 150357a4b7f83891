#!/usr/bin/env python3
"""Membership benchmark driver for `scripts/bench membership` (Python 3, standard library only).

For each run, size N and implementation (chorus, serf) it starts N real agents on 127.0.0.1,
then measures, by polling every node in parallel:

  converge   seconds from the last agent's start until every node has seen all N alive
  idle       CPU % (of one core) and RSS of each agent while nothing happens
  pause      one node is SIGSTOPped for 2 s, then SIGCONTed: is it ever declared dead
             (and, where the API shows it, suspected) by another node
  kill       seconds from a `kill -9` of one node until every survivor marks it dead
  hang       seconds from a SIGSTOP that is never undone until every other live node marks the
             node dead (no refused connection gives it away: the failure detector alone)

Each poller thread owns one node and one persistent connection (HTTP keep-alive for Chorus's
`GET /v1/members`, Serf's msgpack RPC for Serf) and polls on a fixed tick. A node stops being
polled once it has reached the state a phase waits for, so the pollers' load falls as the
cluster converges. A figure is the time at which the first answer showing the state arrived: it
is late by at most one poll interval plus one request.

Every process started is written to RUN_DIR/pids (one pid a line) as soon as it starts, so the
calling script's trap can end them even if this program is killed; this program also ends them
itself (SIGCONT, then SIGKILL) on any exit.
"""

import argparse
import http.client
import json
import urllib.parse
import os
import platform
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Serf's `lan` profile is memberlist's DefaultLANConfig (memberlist config.go); the Chorus side
# runs with the same values (profile lan, plus explicit overrides when the binary takes them).
LAN_TIMERS = [
    ("probe_interval", "1s"),
    ("probe_timeout", "500ms"),
    ("gossip_interval", "200ms"),
    ("gossip_nodes", 3),
    ("indirect_checks", 3),
    ("retransmit_multiplier", 4),
    ("suspicion_multiplier", 4),
    ("suspicion_max_timeout_multiplier", 6),
    ("push_pull_interval", "30s"),
    ("awareness_max_multiplier", 8),
    ("gossip_to_the_dead", "30s"),
    ("tcp_fallback", True),  # DisableTcpPings: false
    ("lifeguard", True),  # awareness, dynamic suspicion and the buddy system are always on
    ("udp_packet_size", 1400),  # UDPBufferSize
]


def yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v) if isinstance(v, str) else str(v)


def log(msg):
    sys.stderr.write(f"[bench] {msg}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# Minimal MessagePack (enough for Serf's RPC)


class Incomplete(Exception):
    pass


def mp_pack(obj):
    if obj is None:
        return b"\xc0"
    if obj is True:
        return b"\xc3"
    if obj is False:
        return b"\xc2"
    if isinstance(obj, int):
        if 0 <= obj < 128:
            return bytes([obj])
        if 0 <= obj < 2**64:
            return b"\xcf" + struct.pack(">Q", obj)
        return b"\xd3" + struct.pack(">q", obj)
    if isinstance(obj, str):
        raw = obj.encode()
        n = len(raw)
        if n < 32:
            return bytes([0xA0 | n]) + raw
        if n < 256:
            return b"\xd9" + bytes([n]) + raw
        return b"\xda" + struct.pack(">H", n) + raw
    if isinstance(obj, bytes):
        return b"\xc4" + bytes([len(obj)]) + obj
    if isinstance(obj, (list, tuple)):
        assert len(obj) < 16
        return bytes([0x90 | len(obj)]) + b"".join(mp_pack(x) for x in obj)
    if isinstance(obj, dict):
        assert len(obj) < 16
        return bytes([0x80 | len(obj)]) + b"".join(mp_pack(k) + mp_pack(v) for k, v in obj.items())
    raise TypeError(type(obj))


def mp_unpack(buf, pos):
    """Decodes one value at buf[pos:]; returns (value, new_pos); raises Incomplete."""
    if pos >= len(buf):
        raise Incomplete()
    b = buf[pos]
    pos += 1

    def take(n):
        if pos + n > len(buf):
            raise Incomplete()
        return buf[pos:pos + n]

    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0x80 <= b <= 0x8F:
        return _mp_map(buf, pos, b & 0x0F)
    if 0x90 <= b <= 0x9F:
        return _mp_array(buf, pos, b & 0x0F)
    if 0xA0 <= b <= 0xBF:
        n = b & 0x1F
        return take(n).decode("utf-8", "replace"), pos + n
    if b == 0xC0:
        return None, pos
    if b == 0xC2:
        return False, pos
    if b == 0xC3:
        return True, pos
    if b in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB):
        width = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
        n = int.from_bytes(take(width), "big")
        pos += width
        data = take(n)
        return (data.decode("utf-8", "replace") if b >= 0xD9 else bytes(data)), pos + n
    if b in (0xCC, 0xCD, 0xCE, 0xCF):
        width = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}[b]
        return int.from_bytes(take(width), "big"), pos + width
    if b in (0xD0, 0xD1, 0xD2, 0xD3):
        width = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}[b]
        return int.from_bytes(take(width), "big", signed=True), pos + width
    if b == 0xCA:
        return struct.unpack(">f", take(4))[0], pos + 4
    if b == 0xCB:
        return struct.unpack(">d", take(8))[0], pos + 8
    if b in (0xDC, 0xDD):
        width = 2 if b == 0xDC else 4
        n = int.from_bytes(take(width), "big")
        return _mp_array(buf, pos + width, n)
    if b in (0xDE, 0xDF):
        width = 2 if b == 0xDE else 4
        n = int.from_bytes(take(width), "big")
        return _mp_map(buf, pos + width, n)
    if b in (0xD4, 0xD5, 0xD6, 0xD7, 0xD8):  # fixext: skip
        n = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}[b]
        take(n + 1)
        return None, pos + n + 1
    if b in (0xC7, 0xC8, 0xC9):  # ext: skip
        width = {0xC7: 1, 0xC8: 2, 0xC9: 4}[b]
        n = int.from_bytes(take(width), "big")
        pos += width
        take(n + 1)
        return None, pos + n + 1
    raise ValueError(f"msgpack: unknown type byte 0x{b:02x}")


def _mp_map(buf, pos, n):
    out = {}
    for _ in range(n):
        k, pos = mp_unpack(buf, pos)
        v, pos = mp_unpack(buf, pos)
        out[k] = v
    return out, pos


def _mp_array(buf, pos, n):
    out = []
    for _ in range(n):
        v, pos = mp_unpack(buf, pos)
        out.append(v)
    return out, pos


# ---------------------------------------------------------------------------
# Clients: each returns {name: status} with status in alive, suspect, dead, left


class SerfClient:
    """Serf's agent RPC (msgpack over TCP): handshake once, then members-filtered."""

    STATUS = {"alive": "alive", "failed": "dead", "left": "left", "leaving": "left"}

    def __init__(self, addr, timeout):
        self.addr = addr
        self.timeout = timeout
        self.sock = None
        self.buf = bytearray()
        self.seq = 0

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = bytearray()

    def _send(self, header, body=None):
        data = mp_pack(header) + (mp_pack(body) if body is not None else b"")
        self.sock.sendall(data)

    def _recv_value(self):
        while True:
            try:
                value, pos = mp_unpack(self.buf, 0)
                del self.buf[:pos]
                return value
            except Incomplete:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("serf rpc closed")
                self.buf += chunk

    def _call(self, command, body, has_reply_body):
        self.seq += 1
        self._send({"Command": command, "Seq": self.seq}, body)
        while True:
            header = self._recv_value()
            if not isinstance(header, dict) or header.get("Seq") != self.seq:
                continue  # a stale answer of an abandoned call
            if header.get("Error"):
                raise RuntimeError(f"serf rpc {command}: {header['Error']}")
            return self._recv_value() if has_reply_body else None

    def connect(self):
        self.close()
        host, port = self.addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._call("handshake", {"Version": 1}, False)

    def members(self, only=None):
        if self.sock is None:
            self.connect()
        try:
            body = {"Name": f"^{re.escape(only)}$"} if only else {}
            reply = self._call("members-filtered", body, True)
        except (OSError, ConnectionError, Incomplete, ValueError):
            self.close()
            raise
        return {m["Name"]: self.STATUS.get(m["Status"], m["Status"]) for m in reply.get("Members", [])}

    def ready(self):
        try:
            self.connect()
            self.close()
            return True
        except (OSError, ConnectionError, RuntimeError, ValueError):
            self.close()
            return False


class NoMembersAPI(RuntimeError):
    pass


class MemberUnknown(RuntimeError):
    pass


class ChorusClient:
    """Chorus's admin API over one keep-alive HTTP connection: GET /v1/members, or
    GET /v1/members/{name} to watch one member."""

    def __init__(self, addr, timeout):
        host, port = addr.rsplit(":", 1)
        self.host, self.port, self.timeout = host, int(port), timeout
        self.conn = None
        self.one_member_route = True

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def _get(self, path):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if resp.status == 404 and path.startswith("/v1/members/"):
            if b'"not_found"' in body and b"no member named" in body:
                raise MemberUnknown(path)
            raise NoMembersAPI(f"GET {path}: 404: this chorus has no one-member route")
        if resp.status == 404 and path == "/v1/members":
            raise NoMembersAPI(f"GET {path} on {self.host}:{self.port}: 404: this chorus has no members API")
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {resp.status}: {body[:200]!r}")
        return body

    def members(self, only=None):
        if only is not None:
            # One member: GET /v1/members/{name} (404 when the node does not know it), as Serf's
            # members-filtered; a chorus without that route falls back to the whole list.
            if self.one_member_route:
                try:
                    member = json.loads(self._get(f"/v1/members/{urllib.parse.quote(only)}"))
                    return {member["name"]: member["status"]}
                except MemberUnknown:
                    return {}
                except NoMembersAPI:
                    self.one_member_route = False
            data = self._list()
            return {only: data[only]} if only in data else {}
        return self._list()

    def _list(self):
        data = json.loads(self._get("/v1/members"))
        if isinstance(data, dict):
            data = data.get("members", [])
        return {m["name"]: m["status"] for m in data}

    def ready(self):
        try:
            self._get("/v1/health")
        except (OSError, http.client.HTTPException, RuntimeError):
            return False
        self.members()  # NoMembersAPI stops the run at once instead of at a timeout
        return True


# ---------------------------------------------------------------------------
# Parallel polling


class Poller:
    """One thread per node; all poll on the same tick (interval) until they are done or the
    deadline passes. `step(node, view, t)` is called with each answer and returns True when that
    node is done; errors are counted, not fatal (a node that is still starting refuses)."""

    def __init__(self, clients, interval):
        self.clients = clients  # name -> client
        self.interval = interval

    def run(self, nodes, step, timeout, only=None):
        """Returns ({node: time done}, {node: failed polls}); adds this program's CPU time over
        the phase to self.cpu_s and the phase's wall time to self.wall_s."""
        cpu0, wall0 = time.process_time(), time.monotonic()
        try:
            return self._run(nodes, step, timeout, only)
        finally:
            self.cpu_s += time.process_time() - cpu0
            self.wall_s += time.monotonic() - wall0

    cpu_s = 0.0
    wall_s = 0.0
    requests = 0
    request_s = 0.0

    def _run(self, nodes, step, timeout, only):
        stop_at = time.monotonic() + timeout
        done = {}
        errors = {n: 0 for n in nodes}
        self.first_answer = {}  # node -> time of its first answer in this phase
        lock = threading.Lock()
        start = time.monotonic()

        def worker(node):
            client = self.clients[node]
            k = 0
            while True:
                t_req = start + k * self.interval
                now = time.monotonic()
                if t_req > now:
                    time.sleep(t_req - now)
                elif now - t_req > self.interval:  # fell behind: skip missed ticks
                    k = int((now - start) / self.interval)
                k += 1
                if time.monotonic() >= stop_at:
                    return
                t_send = time.monotonic()
                try:
                    view = client.members(only)
                except Exception:  # noqa: BLE001 - a starting/paused node; retry on the next tick
                    errors[node] += 1
                    continue
                t = time.monotonic()
                with lock:
                    self.requests += 1
                    self.request_s += t - t_send
                    self.first_answer.setdefault(node, t)
                    finished = step(node, view, t)
                if finished:
                    done[node] = t
                    return

        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in nodes]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return done, errors


# ---------------------------------------------------------------------------
# Processes


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def proc_mem_kib(pid):
    """(VmRSS, RssAnon) in KiB. RSS counts the binary's and libraries' pages, which the agents
    of one implementation share; RssAnon is each process's own memory (heap, stacks)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                out[key] = int(value.split()[0])
    return out["VmRSS"], out.get("RssAnon", 0)


class Cluster:
    def __init__(self, impl, n, args, run_dir, label):
        self.impl, self.n, self.args = impl, n, args
        self.dir = os.path.join(run_dir, label)
        os.makedirs(self.dir, exist_ok=True)
        self.procs = {}
        prefix = "c" if impl == "chorus" else "s"
        self.names = [f"{prefix}{i}" for i in range(1, n + 1)]
        block = args.base_port + (0 if impl == "chorus" else 200)
        self.bind = {name: f"127.0.0.1:{block + i}" for i, name in enumerate(self.names, 1)}
        self.api = {name: f"127.0.0.1:{block + 100 + i}" for i, name in enumerate(self.names, 1)}
        self.seeds = self.names[: min(args.seeds, n)]
        timeout = max(0.5, args.poll_ms / 1000 * 5)
        cls = ChorusClient if impl == "chorus" else SerfClient
        self.clients = {name: cls(self.api[name], timeout) for name in self.names}
        if impl == "chorus":
            self.config = os.path.join(self.dir, "cluster.yaml")
            self._write_chorus_config()

    def _write_chorus_config(self):
        lines = [
            "# Generated by scripts/bench membership.",
            f"cluster: bench-{self.n}",
            "profile: lan",
            "log_level: warning",
            # Serf runs without its keyring here, so Chorus runs without its own: same work.
            "insecure: true",
        ]
        if self.args.chorus_overrides:
            lines.append("# memberlist DefaultLANConfig, the timers of Serf's lan profile")
            lines.append("membership:")
            for key, value in LAN_TIMERS:
                lines.append(f"  {key}: {yaml_value(value)}")
        lines.append("seeds:")
        lines += [f"  - {self.bind[s]}" for s in self.seeds]
        lines.append("nodes:")
        for name in self.names:
            lines += [
                f"  - name: {name}",
                f"    bind: {self.bind[name]}",
                f"    admin: {self.api[name]}",
                f"    data_dir: {os.path.join(self.dir, name)}",
            ]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self, name):
        if self.impl == "chorus":
            return [self.args.chorus_bin, "agent", "--config", self.config, "--node", name,
                    "--log-level", "warning"]
        cmd = [self.args.serf_bin, "agent", f"-node={name}", f"-bind={self.bind[name]}",
               f"-rpc-addr={self.api[name]}", "-profile=lan", "-log-level=warn"]
        # Serf's -join exits when no seed answers: the first node joins nobody (it is started and
        # answering before the others), every other node joins the seeds, of which the first is up.
        if name != self.names[0]:
            cmd += [f"-join={self.bind[s]}" for s in self.seeds if s != name]
        return cmd

    def start(self, name):
        node_dir = os.path.join(self.dir, name)
        os.makedirs(node_dir, exist_ok=True)
        out = open(os.path.join(self.dir, f"{name}.log"), "ab")
        # Own session: a Ctrl-C at the terminal reaches this program, which ends the agents;
        # a Serf agent that got SIGINT itself would leave gracefully instead of dying.
        p = subprocess.Popen(self.command(name), cwd=node_dir, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.procs[name] = p
        with open(self.args.pid_file, "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def wait_ready(self, name, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{self.impl} {name} exited with {self.procs[name].returncode}; "
                                   f"see {self.dir}/{name}.log")
            if self.clients[name].ready():
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.impl} {name} did not answer on {self.api[name]} in {timeout} s")

    def check_alive(self):
        for name, p in self.procs.items():
            if p.poll() is not None and name not in getattr(self, "killed", set()):
                raise RuntimeError(f"{self.impl} {name} exited with {p.returncode}; see {self.dir}/{name}.log")

    def stop(self):
        for c in self.clients.values():
            c.close()
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log(f"warning: pid {p.pid} did not exit after SIGKILL")


def everyone_alive(names):
    want = set(names)

    def step(node, view, t):
        alive = {m for m, s in view.items() if s == "alive"} | {node}
        return want <= alive
    return step


def run_cluster(impl, n, args, run_no):
    label = f"run{run_no}-{impl}-{n}"
    c = Cluster(impl, n, args, args.run_dir, label)
    poller = Poller(c.clients, args.poll_ms / 1000)
    res = {"impl": impl, "n": n, "run": run_no}
    try:
        # Start: the first seed, wait until it answers, then every other node back to back.
        first = c.names[0]
        c.start(first)
        c.wait_ready(first, 30)
        for name in c.names[1:]:
            c.start(name)
        t_last = time.monotonic()
        done, errors = poller.run(c.names, everyone_alive(c.names), args.converge_timeout)
        c.check_alive()
        missing = [x for x in c.names if x not in done]
        if missing:
            res["converge_s"] = None
            res["converge_note"] = f"{len(missing)} nodes never saw all {n} alive in {args.converge_timeout} s"
            log(f"  {label}: {res['converge_note']}")
            return res
        res["converge_s"] = max(done.values()) - t_last
        res["converge_by_node"] = {x: round(done[x] - t_last, 3) for x in c.names}
        res["converge_median_s"] = statistics.median(done.values()) - t_last
        res["api_up_s"] = max(poller.first_answer.values()) - t_last
        res["converge_poller_errors"] = sum(errors.values())
        log(f"  {label}: every node saw all {n} alive {res['converge_s']:.2f} s after the last start "
            f"(half of them by {res['converge_median_s']:.2f} s; every API answered by {res['api_up_s']:.2f} s)")

        # Idle: no polling, a settle pause, then CPU time and RSS over a window.
        time.sleep(args.settle)
        pids = [c.procs[x].pid for x in c.names]
        ticks0 = {p: proc_cpu_ticks(p) for p in pids}
        w0 = time.monotonic()
        time.sleep(args.idle_window)
        ticks1 = {p: proc_cpu_ticks(p) for p in pids}
        wall = time.monotonic() - w0
        cpu = [100.0 * (ticks1[p] - ticks0[p]) / CLK_TCK / wall for p in pids]
        mem = [proc_mem_kib(p) for p in pids]
        rss = [m[0] / 1024 for m in mem]
        anon = [m[1] / 1024 for m in mem]
        res["idle_cpu_pct"] = statistics.mean(cpu)
        res["idle_cpu_pct_max"] = max(cpu)
        res["rss_mib"] = statistics.mean(rss)
        res["rss_mib_max"] = max(rss)
        res["anon_mib"] = statistics.mean(anon)
        log(f"  {label}: idle CPU {res['idle_cpu_pct']:.2f} %/node (max {max(cpu):.2f}), "
            f"RSS {res['rss_mib']:.1f} MiB/node (max {max(rss):.1f}), of which anonymous {res['anon_mib']:.1f} MiB")

        # Pause: SIGSTOP a non-seed node for `pause` seconds, watch every other node's view of
        # it during the pause and `pause_watch` seconds after SIGCONT.
        victim = c.names[-2] if n >= 3 else c.names[-1]
        observers = [x for x in c.names if x != victim]
        seen = {"dead": set(), "suspect": set()}

        def watch(node, view, t):
            s = view.get(victim)
            if s in seen:
                seen[s].add(node)
            return False

        vpid = c.procs[victim].pid
        os.kill(vpid, signal.SIGSTOP)
        timer = threading.Timer(args.pause, lambda: os.kill(vpid, signal.SIGCONT))
        timer.start()
        try:
            poller.run(observers, watch, args.pause + args.pause_watch, only=victim)
        finally:
            timer.cancel()
            os.kill(vpid, signal.SIGCONT)
        res["pause_dead_by"] = len(seen["dead"])
        res["pause_suspect_by"] = len(seen["suspect"]) if impl == "chorus" else None
        res["pause_observers"] = len(observers)
        log(f"  {label}: paused {victim} {args.pause:g} s: declared dead by {len(seen['dead'])}/{len(observers)}"
            + (f", suspected by {len(seen['suspect'])}" if impl == "chorus" else ""))
        # Back to everyone alive before the kill (a false death must heal first).
        done, _ = poller.run(c.names, everyone_alive(c.names), args.converge_timeout)
        res["pause_healed"] = len(done) == n
        if not res["pause_healed"]:
            log(f"  {label}: after the pause, {n - len(done)} nodes do not see all alive; kill measured anyway")

        # Kill: kill -9 the last node (not a seed), until every survivor marks it dead.
        victim = c.names[-1]
        survivors = [x for x in c.names if x != victim]
        c.killed = {victim}

        def dead(node, view, t):
            return view.get(victim) == "dead"

        os.kill(c.procs[victim].pid, signal.SIGKILL)
        t_kill = time.monotonic()
        c.procs[victim].wait()
        done, _ = poller.run(survivors, dead, args.kill_timeout, only=victim)
        if len(done) < len(survivors):
            res["kill_all_s"] = None
            res["kill_note"] = f"{len(survivors) - len(done)}/{len(survivors)} survivors never marked it dead in {args.kill_timeout} s"
        else:
            res["kill_all_s"] = max(done.values()) - t_kill
        res["kill_first_s"] = (min(done.values()) - t_kill) if done else None
        res["kill_median_s"] = (statistics.median(done.values()) - t_kill) if done else None
        log(f"  {label}: kill -9 {victim}: first {fmt(res['kill_first_s'])} s, all {fmt(res['kill_all_s'])} s"
            + (f" ({res['kill_note']})" if "kill_note" in res else ""))
        c.check_alive()

        # Hang: SIGSTOP a node for good (a hung process, or a host gone silent: its kernel still
        # holds its sockets, so no refused connection tells anyone), until every other live node
        # marks it dead; then kill it. This is the failure detector alone. With --hangs K, K
        # nodes in turn (never a seed), so that the figure, random with the time of the hung
        # node's first probe, rests on K samples per run.
        hangs = max(1, min(args.hangs, n - 4))
        all_samples, first_samples, notes = [], [], []
        for k in range(hangs):
            hung = c.names[-2 - k]
            watchers = [x for x in c.names if x not in c.killed and x != hung]
            c.killed.add(hung)

            def hung_dead(node, view, t, hung=hung):
                return view.get(hung) == "dead"

            hpid = c.procs[hung].pid
            os.kill(hpid, signal.SIGSTOP)
            t_stop = time.monotonic()
            done, _ = poller.run(watchers, hung_dead, args.kill_timeout, only=hung)
            os.kill(hpid, signal.SIGKILL)
            c.procs[hung].wait()
            if len(done) < len(watchers):
                notes.append(f"hang: {len(watchers) - len(done)}/{len(watchers)} never marked {hung} dead "
                             f"in {args.kill_timeout:g} s")
            else:
                all_samples.append(max(done.values()) - t_stop)
            if done:
                first_samples.append(min(done.values()) - t_stop)
            log(f"  {label}: SIGSTOP {hung} for good: first {fmt(first_samples[-1] if done else None)} s, "
                f"all {fmt(all_samples[-1] if len(done) == len(watchers) else None)} s")
        res["hang_all_samples"] = all_samples
        res["hang_all_s"] = statistics.median(all_samples) if all_samples and not notes else None
        res["hang_first_s"] = statistics.median(first_samples) if first_samples else None
        if notes:
            res["hang_note"] = "; ".join(notes)
        c.check_alive()
        res["poller_cpu_pct"] = 100.0 * poller.cpu_s / poller.wall_s if poller.wall_s else None
        res["poll_ms"] = 1000.0 * poller.request_s / poller.requests if poller.requests else None
        log(f"  {label}: the pollers used {fmt(res['poller_cpu_pct'], 1)} % of one core while polling; "
            f"{poller.requests} answered polls took {fmt(res['poll_ms'])} ms each on average")
        return res
    finally:
        c.stop()


# ---------------------------------------------------------------------------
# Report


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def med(rows, key):
    vals = [r.get(key) for r in rows]
    if not vals or any(v is None for v in vals):
        return None
    return statistics.median(vals)


def report(results, args):
    impls = args.impls
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    runs = sorted({r["run"] for r in results})
    print("Chorus membership benchmark" + (" against Serf" if "serf" in impls else ""))
    print(f"machine: {platform.system()} {platform.release()}, nproc={os.cpu_count()}" + (f", {cpu}" if cpu else ""))
    print("timers: memberlist DefaultLANConfig: probe 1 s, probe timeout 500 ms, gossip 200 ms to 3, "
          "indirect checks 3, suspicion mult 4 (max x6), retransmit mult 4, push-pull 30 s, awareness max 8")
    if "chorus" in impls:
        print(f"  chorus: {args.chorus_bin} agent --config RUN/cluster.yaml (profile: lan"
              + (", membership: the same timers written out" if args.chorus_overrides
                 else "; no per-timer overrides: this binary refuses a membership: mapping")
              + f"; seeds: the first {args.seeds} nodes)")
    if "serf" in impls:
        print(f"  serf:   {args.serf_bin} agent -profile=lan -join=<first {args.seeds} nodes> ({args.serf_version})")
    print(f"sizes: {','.join(map(str, args.sizes))}; runs: {len(runs)}; ports from {args.base_port}")
    print(f"poll: every {args.poll_ms} ms, every node in parallel (a thread and a kept-open connection per node); "
          f"a time is when the first answer showing the state arrived: late by up to {args.poll_ms} ms + one request")
    print("each cluster: node 1 starts; once it answers, nodes 2..N start back to back; then, in order:")
    print("  up        from the last start until every node's API answered")
    print("  conv      from the last start until every node (all) / half the nodes (p50) saw all N alive")
    print(f"  idle      CPU % (of one core) over {args.idle_window:g} s, nothing polled, and memory per node: RSS, and "
          "its anonymous part (RssAnon: the node's own memory; the rest is the binary and libraries, shared)")
    print(f"  pause     node N-1 SIGSTOPped {args.pause:g} s, watched until {args.pause_watch:g} s after SIGCONT: "
          "most observers that saw it dead / suspect (Serf's RPC shows no suspect state)")
    print("  kill      node N kill -9ed: until every survivor (all) / the first marked it dead")
    print("  hang      node N-1 SIGSTOPped for good (no refused connection): until every other live node "
          f"marked it dead (timeout {args.kill_timeout:g} s for kill and hang)")
    print()
    cols = [("up s", "api_up_s"), ("conv all", "converge_s"), ("conv p50", "converge_median_s"),
            ("kill all", "kill_all_s"), ("kill 1st", "kill_first_s"), ("hang all", "hang_all_s"),
            ("hang 1st", "hang_first_s")]
    tail = [("idle CPU%", "idle_cpu_pct", 2), ("RSS MiB", "rss_mib", 1), ("anon MiB", "anon_mib", 1)]
    pooled = {}
    for r in results:
        pooled.setdefault((r["n"], r["impl"]), []).extend(r.get("hang_all_samples") or [])
    if any(len(v) > len(runs) for v in pooled.values()):
        print("hang all, median of every sample (several hung nodes per run):")
        for n in args.sizes:
            line = f"  N={n}:"
            meds = {impl: statistics.median(pooled[(n, impl)]) for impl in impls if pooled.get((n, impl))}
            for impl in impls:
                if impl in meds:
                    line += f" {impl} {meds[impl]:.2f} s ({len(pooled[(n, impl)])} samples)"
            if len(meds) == 2 and meds.get("serf"):
                line += f", chorus/serf {meds['chorus'] / meds['serf']:.2f}"
            print(line)
        print()
    print(f"medians over {len(runs)} run(s), seconds unless said; pause: worst run")
    head = f"{'N':>3} {'impl':<11}" + "".join(f" {h:>8}" for h, _ in cols) + f" {'pause dead':>10} {'suspect':>7}" \
        + "".join(f" {h:>9}" for h, _, _ in tail)
    print(head)
    by = {}
    for r in results:
        by.setdefault((r["n"], r["impl"]), []).append(r)
    for n in args.sizes:
        meds = {}
        for impl in impls:
            rows = by.get((n, impl), [])
            if not rows:
                continue
            m = {k: med(rows, k) for _, k in cols}
            m.update({k: med(rows, k) for _, k, _ in tail})
            meds[impl] = m
            dead = [r["pause_dead_by"] for r in rows if r.get("pause_dead_by") is not None]
            susp = [r["pause_suspect_by"] for r in rows if r.get("pause_suspect_by") is not None]
            obs = next((r["pause_observers"] for r in rows if "pause_observers" in r), n - 1)
            dead_s = f"{'yes' if max(dead) else 'no'} {max(dead)}/{obs}" if dead else "-"
            susp_s = f"{max(susp)}/{obs}" if susp else "-"
            print(f"{n:>3} {impl:<11}" + "".join(f" {fmt(m[k]):>8}" for _, k in cols)
                  + f" {dead_s:>10} {susp_s:>7}" + "".join(f" {fmt(m[k], d):>9}" for _, k, d in tail))
        if "chorus" in meds and "serf" in meds:
            def ratio(k):
                a, b = meds["chorus"][k], meds["serf"][k]
                return "-" if a is None or b is None or b == 0 else f"{a / b:.{2 if a / b >= 0.1 else 3}f}"
            print(f"{n:>3} {'chorus/serf':<11}" + "".join(f" {ratio(k):>8}" for _, k in cols)
                  + f" {'':>10} {'':>7}" + "".join(f" {ratio(k):>9}" for _, k, _ in tail))
    print()
    print("per run (CPU/RSS max: the busiest / largest node; poller %: the polling program's own CPU while it "
          "polled, of one core; poll ms: mean time of one answered poll)")
    print(f"{'run':>3} {'N':>3} {'impl':<7}" + "".join(f" {h:>8}" for h, _ in cols)
          + f" {'pause':>5} {'susp':>4} {'CPU%':>5} {'max':>5} {'RSS':>5} {'max':>5} {'poller%':>7} {'poll ms':>7}  notes")
    for r in results:
        notes = "; ".join(r[k] for k in ("converge_note", "kill_note", "hang_note", "error") if r.get(k))
        if r.get("pause_healed") is False:
            notes = (notes + "; " if notes else "") + "not all alive again after the pause"
        susp = r.get("pause_suspect_by")
        print(f"{r['run']:>3} {r['n']:>3} {r['impl']:<7}" + "".join(f" {fmt(r.get(k)):>8}" for _, k in cols)
              + f" {str(r.get('pause_dead_by', '-')):>5} {('-' if susp is None else str(susp)):>4}"
              f" {fmt(r.get('idle_cpu_pct')):>5} {fmt(r.get('idle_cpu_pct_max')):>5}"
              f" {fmt(r.get('rss_mib'), 1):>5} {fmt(r.get('rss_mib_max'), 1):>5}"
              f" {fmt(r.get('poller_cpu_pct'), 1):>7} {fmt(r.get('poll_ms')):>7}  {notes}")


def write_probe_config(path, port):
    """A one-node cluster file with every timer of LAN_TIMERS under membership:; the chorus binary
    takes per-timer overrides when `chorus config nodes` accepts it."""
    lines = ["cluster: probe", "profile: lan", "insecure: true", "membership:"]
    lines += [f"  {k}: {yaml_value(v)}" for k, v in LAN_TIMERS]
    lines += ["nodes:", "  - name: p1", f"    bind: 127.0.0.1:{port}", f"    admin: 127.0.0.1:{port + 100}",
              f"    data_dir: {os.path.join(os.path.dirname(path), 'p1')}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--write-probe-config":
        write_probe_config(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impls", required=True, help="comma-separated: chorus, serf")
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--base-port", type=int, default=22000)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--pid-file", required=True)
    ap.add_argument("--chorus-bin", default="chorus")
    ap.add_argument("--chorus-overrides", action="store_true",
                    help="write the timers into the cluster file's membership: mapping")
    ap.add_argument("--serf-bin", default="serf")
    ap.add_argument("--serf-version", default="serf")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--poll-ms", type=int, default=100)
    ap.add_argument("--converge-timeout", type=float, default=120)
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--idle-window", type=float, default=10)
    ap.add_argument("--pause", type=float, default=2)
    ap.add_argument("--pause-watch", type=float, default=10)
    ap.add_argument("--kill-timeout", type=float, default=90)
    ap.add_argument("--hangs", type=int, default=1,
                    help="nodes SIGSTOPped for good in turn per cluster run (at most N-4)")
    ap.add_argument("--results", help="also append each result as a JSON line here")
    args = ap.parse_args()
    args.impls = [x for x in args.impls.split(",") if x]
    args.sizes = [int(x) for x in args.sizes.split(",") if x]

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)

    results = []
    t0 = time.monotonic()
    for run_no in range(1, args.runs + 1):
        for n in args.sizes:
            for impl in args.impls:
                log(f"run {run_no}/{args.runs}: {impl}, {n} nodes")
                try:
                    r = run_cluster(impl, n, args, run_no)
                except KeyboardInterrupt:
                    log("interrupted")
                    raise
                except Exception as e:  # noqa: BLE001 - report it in the table, go on
                    log(f"  error: {e}")
                    r = {"impl": impl, "n": n, "run": run_no, "error": str(e)}
                results.append(r)
                if args.results:
                    with open(args.results, "a") as f:
                        f.write(json.dumps(r) + "\n")
    log(f"done in {time.monotonic() - t0:.0f} s")
    report(results, args)
    failed = [r for r in results if r.get("error")]
    if failed:
        log(f"{len(failed)} of {len(results)} clusters failed (see 'notes'); their logs are in {args.run_dir}")
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
