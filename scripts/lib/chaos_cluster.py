"""The nodes of a chaos run: real `chorus agent` processes on 127.0.0.1 and their admin APIs.

Each node runs `chorus agent --config CONFIG --node NAME` in its own session, its output
appended to RUN_DIR/<node>.log; a restart runs the same command on the same data_dir. Every
process started is ended (SIGCONT, then SIGKILL) when the run ends, however it ends.
"""

import http.client
import json
import os
import signal
import subprocess
import threading
import time


class Answer:
    """An admin API answer: `status` is None when the node did not answer (`error` says why)."""

    def __init__(self, status, body=None, error=None):
        self.status = status
        self.body = body
        self.error = error

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    def field(self, name, default=None):
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    def __repr__(self):
        if self.status is None:
            return f"no answer ({self.error})"
        return f"{self.status} {json.dumps(self.body)[:300]}"


class Node:
    """One node of the config, and the process that runs it now (if any)."""

    def __init__(self, name, bind, admin, data_dir, token=None):
        self.name = name
        self.bind = bind
        self.admin = admin
        self.data_dir = data_dir
        # The admin API's bearer token (from the node's admin_token_file), or None.
        self.token = token
        self.process = None
        # running, paused or killed
        self.state = "killed"
        # Bumped at every start: a kept-open connection to an earlier process is never reused.
        self.generation = 0
        # The uid of each run of this node, oldest first.
        self.uids = []

    @property
    def uid(self):
        return self.uids[-1] if self.uids else None


# Kept-open connections, per thread: (admin address, generation) -> (connection, last use).
_local = threading.local()
# A connection idle longer than this is not reused (the admin server closes idle ones after 30 s).
REUSE_SECONDS = 10.0


def call(node, method, path, body=None, timeout=15.0):
    """One request to `node`'s admin API. Never raises for the network: a failure is an Answer
    with status None. A request is never sent twice (a join or a write must not be repeated)."""
    cache = getattr(_local, "connections", None)
    if cache is None:
        cache = _local.connections = {}
    key = (node.admin, node.generation)
    now = time.monotonic()
    entry = cache.pop(key, None)
    connection = None
    if entry is not None and now - entry[1] < REUSE_SECONDS:
        connection = entry[0]
    elif entry is not None:
        entry[0].close()
    for stale in [k for k in cache if k[0] == node.admin and k[1] != node.generation]:
        cache.pop(stale)[0].close()
    if connection is None:
        host, port = node.admin.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    connection.timeout = timeout
    if connection.sock is not None:
        connection.sock.settimeout(timeout)
    payload = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    if node.token:
        headers["Authorization"] = f"Bearer {node.token}"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        status = response.status
        keep = not response.will_close
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        return Answer(None, error=f"{type(error).__name__}: {error}")
    if keep:
        cache[key] = (connection, time.monotonic())
    else:
        connection.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, parsed)


class Cluster:
    """The nodes of CONFIG, started and signalled by this program."""

    def __init__(self, chorus, config, root, run_dir):
        self.chorus = chorus
        self.config = config
        self.root = root
        self.run_dir = run_dir
        self.nodes = {}
        self.lock = threading.Lock()
        listing = subprocess.run([chorus, "config", "nodes", "--config", config], cwd=root,
                                 capture_output=True, text=True)
        if listing.returncode != 0:
            raise SetupError(f"chorus config nodes --config {config} failed: {listing.stderr.strip()}")
        for line in listing.stdout.splitlines():
            if not line.strip():
                continue
            # NAME, BIND, ADMIN, DATA_DIR, ADMIN_TOKEN_FILE ('-': none)
            name, bind, admin, data_dir, token_file = line.split("\t")[:5]
            token = None
            if token_file != "-":
                try:
                    with open(token_file, encoding="utf-8") as file:
                        token = file.read().strip()
                except OSError as error:
                    raise SetupError(f"cannot read {name}'s admin_token_file {token_file}: {error}") from None
            self.nodes[name] = Node(name, bind, admin, data_dir, token)
        if len(self.nodes) < 2:
            raise SetupError(f"{config} lists {len(self.nodes)} node(s); a chaos run needs at least 2")

    @property
    def names(self):
        return sorted(self.nodes)

    def data_path(self, node):
        return node.data_dir if os.path.isabs(node.data_dir) else os.path.join(self.root, node.data_dir)

    def wipe_data(self):
        """Removes every node's data_dir; refuses one outside the repository's .chorus/ folder."""
        guard = os.path.realpath(os.path.join(self.root, ".chorus")) + os.sep
        for node in self.nodes.values():
            path = os.path.realpath(self.data_path(node))
            if not path.startswith(guard):
                raise SetupError(f"{node.name}'s data_dir {node.data_dir} is outside {guard}: "
                                 "a chaos run wipes its nodes' data_dirs and will not wipe that one")
            subprocess.run(["rm", "-rf", "--", path], check=True)

    def check_ports_free(self):
        for node in self.nodes.values():
            answer = call(node, "GET", "/v1/health", timeout=1.0)
            if answer.status is not None:
                raise SetupError(f"something already answers on {node.name}'s admin address {node.admin}; "
                                 f"stop it first (scripts/cluster down {self.config}?)")

    def start(self, name):
        node = self.nodes[name]
        os.makedirs(self.data_path(node), exist_ok=True)
        log_path = os.path.join(self.run_dir, f"{name}.log")
        command = [self.chorus, "agent", "--config", self.config, "--node", name]
        with open(log_path, "ab") as out:
            out.write(f"=== {time.strftime('%Y-%m-%dT%H:%M:%S')}: {' '.join(command)}\n".encode())
            out.flush()
            process = subprocess.Popen(command, cwd=self.root, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        with self.lock:
            node.process = process
            node.generation += 1
            node.state = "starting"

    def wait_healthy(self, name, timeout):
        """Waits until the node answers /v1/health; records its uid. False if it exited or timed out."""
        node = self.nodes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                return False
            answer = call(node, "GET", "/v1/self", timeout=1.0)
            if answer.ok and answer.field("name") == name:
                with self.lock:
                    node.uids.append(answer.field("uid"))
                    node.state = "running"
                return True
            time.sleep(0.05)
        return False

    def kill(self, name):
        node = self.nodes[name]
        with self.lock:
            node.state = "killed"
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()

    def pause(self, name):
        node = self.nodes[name]
        with self.lock:
            node.state = "paused"
        node.process.send_signal(signal.SIGSTOP)

    def resume(self, name):
        node = self.nodes[name]
        node.process.send_signal(signal.SIGCONT)
        with self.lock:
            node.state = "running"

    def up(self):
        """Names of the nodes running now (not paused, killed or starting)."""
        with self.lock:
            return [n for n in self.names if self.nodes[n].state == "running"]

    def end_all(self):
        """Ends every process this run started: SIGCONT (a paused one must run to die), SIGKILL."""
        for node in self.nodes.values():
            process = node.process
            if process is None or process.poll() is not None:
                continue
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    process.send_signal(sig)
                except ProcessLookupError:
                    pass
            process.wait()
            node.state = "killed"


class SetupError(Exception):
    """The run cannot start or go on: the cluster, the config or the machine is not as needed."""
