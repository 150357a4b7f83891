#!/usr/bin/env bash
# scripts/lib/pg_bench.sh — the Erlang/OTP side of `scripts/bench groups`: OTP's kernel `pg`
# between two Erlang nodes on this host (distribution over 127.0.0.1, random cookie).
#
#   scripts/lib/pg_bench.sh [--runs N] [--duration S]
#
# Each run starts a fresh pair of nodes: node B (background `erl -noshell`, it starts the pg
# scope and stops itself when node A disconnects) and node A, which runs the phases of
# scripts/lib/pg_bench.erl (see the comment at its top: random-member sends, half-local sends,
# one-way latency at 10,000 msgs/s, join visibility through pg:monitor_scope, 10,000 joins),
# then both stop. One JSON object per run goes to stdout, one line each:
#
#   {"impl":"erlang","run":1,"otp_release":"25","erts_version":"13.1.5",
#    "remote_sends_per_s":N,"half_local_sends_per_s":N,
#    "remote_latency_p50_us":X,"remote_latency_p99_us":X,
#    "join_visible_p50_us":X,"join_visible_p99_us":X,"joins_10k_visible_ms":X}
#
# null stands for a figure that could not be measured (the join figures need OTP >= 25.1).
# Progress and logs go to stderr. Exits non-zero if erl cannot be had or a run fails.
# erl/erlc come from Debian's erlang-base, installed with apt-get when missing. An epmd
# that this script had to start is killed at the end; one that was running is left alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUNS=1
DURATION=5

log() { printf '[pg_bench] %s\n' "$*" >&2; }
die() { printf 'pg_bench: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
        --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'pg_bench: error: unknown argument: %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, not '$RUNS'"
if ! [[ "$DURATION" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk "BEGIN { exit !($DURATION > 0) }"; then
    die "--duration must be a positive number of seconds, not '$DURATION'"
fi

# --- erl and erlc ---------------------------------------------------------------------------
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1 ||
   ! command -v epmd >/dev/null 2>&1; then
    log "erl/erlc not found: installing Debian package erlang-base"
    command -v apt-get >/dev/null 2>&1 ||
        die "erl/erlc are missing and there is no apt-get: install Erlang/OTP by hand"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
       ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q erlang-base >&2; then
        die "apt-get could not install erlang-base (needs root or sudo): install Erlang by hand"
    fi
    if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1; then
        die "erlang-base is installed but erl/erlc are still not on PATH"
    fi
fi

# --- scratch dir, epmd, cleanup -------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pg_bench.XXXXXX")"
STARTED_EPMD=""
B_PID=""
A_PID=""

# Wait up to $2 seconds for pid $1 to exit; true if it did.
wait_exit() {
    local pid="$1" tenths=$(( $2 * 10 ))
    while kill -0 "$pid" 2>/dev/null && (( tenths-- > 0 )); do
        sleep 0.1
    done
    ! kill -0 "$pid" 2>/dev/null
}

# Our own nodes only, by pid: SIGTERM (beam then stops gracefully), SIGKILL after 2 s.
cleanup() {
    local pid
    for pid in "$A_PID" "$B_PID"; do
        if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "$A_PID" "$B_PID"; do
        if [[ -n "$pid" ]] && ! wait_exit "$pid" 2; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "$STARTED_EPMD" ]]; then
        epmd -kill >/dev/null 2>&1 || log "left epmd running: other nodes are registered with it"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "compiling pg_bench.erl into $WORK"
erlc -o "$WORK" "$HERE/pg_bench.erl" >&2 || die "erlc failed on $HERE/pg_bench.erl"

# The nodes never start epmd themselves (-start_epmd false): it is started here, bound to the
# loopback address, only when none answers, so that it can be killed at the end.
if ! epmd -names >/dev/null 2>&1; then
    log "starting epmd on 127.0.0.1"
    ERL_EPMD_ADDRESS=127.0.0.1 epmd -daemon || die "could not start epmd"
    STARTED_EPMD=1
    for _ in $(seq 50); do
        epmd -names >/dev/null 2>&1 && break
        sleep 0.1
    done
    epmd -names >/dev/null 2>&1 || die "epmd does not answer"
fi

COOKIE="pgbench$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
# Distribution on loopback only; the cookie is given on the command line, so ~/.erlang.cookie
# is neither read nor written.
ERL_COMMON=(-noshell -noinput -start_epmd false -setcookie "$COOKIE"
            -kernel inet_dist_use_interface '{127,0,0,1}' -pa "$WORK")

run_once() {
    local run="$1" a b out rc
    a="pg_bench_a_$$_${run}@127.0.0.1"
    b="pg_bench_b_$$_${run}@127.0.0.1"
    out="$WORK/result_$run.json"

    log "run $run/$RUNS: node B $b"
    # erl execs erlexec, which execs beam.smp: $! is the emulator's pid.
    erl "${ERL_COMMON[@]}" -name "$b" -run pg_bench node_b "$a" \
        >"$WORK/node_b_$run.log" 2>&1 &
    B_PID=$!

    log "run $run/$RUNS: node A $a (about $(awk "BEGIN{print int(2 * $DURATION + 10)}") s)"
    erl "${ERL_COMMON[@]}" -name "$a" -run pg_bench node_a "$b" "$out" "$DURATION" "$run" >&2 &
    A_PID=$!
    rc=0
    wait "$A_PID" || rc=$?
    A_PID=""

    # Node B stops by itself once node A is gone.
    if ! wait_exit "$B_PID" 10; then
        log "node B did not stop by itself: killing it"
        kill "$B_PID" 2>/dev/null || true
        wait_exit "$B_PID" 5 || kill -9 "$B_PID" 2>/dev/null || true
    fi
    wait "$B_PID" 2>/dev/null || true
    B_PID=""

    if [[ "$rc" -ne 0 || ! -s "$out" ]]; then
        log "node B's log:"
        sed 's/^/  /' "$WORK/node_b_$run.log" >&2
        die "run $run failed (node A exited with status $rc)"
    fi
    cat "$out"
}

for (( run = 1; run <= RUNS; run++ )); do
    run_once "$run"
done
