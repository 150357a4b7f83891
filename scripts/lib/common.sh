# shellcheck shell=bash
# Shared helpers for the scripts in scripts/. Source it, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# One way to do each thing:
#   CHORUS_ROOT                     the repository root (absolute)
#   info / warn / die / usage_error logging to stderr (die exits 1, usage_error exits 2)
#   run_as_root CMD...              run CMD as root (sudo when not root)
#   install_missing_dev_packages    apt-get install what pkg-config cannot find
#   ensure_swift_on_path            put /opt/swift/usr/bin on PATH when swift is not found
#   swift_scratch_args              the --scratch-path arguments for swift build/test
#   CHORUS_RELEASE_FLAGS            swift build flags of every release build
#   http_get URL [TOKEN_FILE]       body of a 2xx answer, fails otherwise (TOKEN_FILE: bearer token)
#   json_field NAME                 a top-level string/number field of the JSON on stdin
#   wait_for_http URL SECS [TOKEN_FILE]  poll URL until it answers 2xx or SECS pass
#   progress_start / progress MSG   in a wait loop: say MSG with the seconds waited, every
#                                   CHORUS_PROGRESS_SECONDS (default 5), so no wait is silent

if [[ -n "${CHORUS_COMMON_SH_LOADED:-}" ]]; then
    return 0
fi
CHORUS_COMMON_SH_LOADED=1

# ---------------------------------------------------------------------------
# Repository root
# ---------------------------------------------------------------------------

CHORUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
export CHORUS_ROOT

# ---------------------------------------------------------------------------
# Logging (always to stderr, so stdout stays for data such as tables)
# ---------------------------------------------------------------------------

CHORUS_SCRIPT_NAME="$(basename "$0")"

info() {
    printf '%s: %s\n' "$CHORUS_SCRIPT_NAME" "$*" >&2
}

warn() {
    printf '%s: warning: %s\n' "$CHORUS_SCRIPT_NAME" "$*" >&2
}

die() {
    printf '%s: error: %s\n' "$CHORUS_SCRIPT_NAME" "$*" >&2
    exit 1
}

# A wrong command line: say what is wrong, point at --help, exit 2.
usage_error() {
    printf '%s: error: %s\n' "$CHORUS_SCRIPT_NAME" "$*" >&2
    printf "Run '%s --help' for usage.\n" "$0" >&2
    exit 2
}

# A long wait says what it still waits for: call progress_start before the
# loop and progress MESSAGE at each turn; MESSAGE is printed (with the seconds
# waited) once every CHORUS_PROGRESS_SECONDS, 5 by default.
progress_start() {
    CHORUS_PROGRESS_STARTED=$SECONDS
    CHORUS_PROGRESS_SHOWN=0
}

progress() {
    local every="${CHORUS_PROGRESS_SECONDS:-5}"
    local waited=$((SECONDS - ${CHORUS_PROGRESS_STARTED:-$SECONDS}))
    if ((every > 0 && waited / every > ${CHORUS_PROGRESS_SHOWN:-0})); then
        CHORUS_PROGRESS_SHOWN=$((waited / every))
        info "... ${waited}s: $*"
    fi
}

# ---------------------------------------------------------------------------
# Root and apt
# ---------------------------------------------------------------------------

run_as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' and sudo is not installed; run it as root"
    fi
}

CHORUS_APT_UPDATED=""

# apt_install DEB...: install Debian packages; runs `apt-get update` once per
# process, before the first install (a fresh machine has no package lists).
apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get not found; install these packages by hand: $*"
    if [[ -z "$CHORUS_APT_UPDATED" ]]; then
        info "apt-get update"
        run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
            die "apt-get update failed"
        CHORUS_APT_UPDATED=1
    fi
    info "apt-get install $*"
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" ||
        die "apt-get install $* failed"
}

# install_missing_dev_packages MODULE=DEB...: for each pkg-config MODULE that
# `pkg-config --exists` does not find, install DEB (all in one apt-get call),
# then check again. pkg-config itself is installed first when missing.
# Example: install_missing_dev_packages libuv=libuv1-dev sqlite3=libsqlite3-dev
install_missing_dev_packages() {
    local pair module deb
    local -a missing_debs=() missing_modules=()

    if ! command -v pkg-config >/dev/null 2>&1; then
        info "pkg-config is missing"
        apt_install pkg-config
    fi

    for pair in "$@"; do
        module="${pair%%=*}"
        deb="${pair#*=}"
        if pkg-config --exists "$module"; then
            info "found $module $(pkg-config --modversion "$module") ($deb)"
        else
            info "missing $module: will install $deb"
            missing_modules+=("$module")
            missing_debs+=("$deb")
        fi
    done

    if [[ ${#missing_debs[@]} -eq 0 ]]; then
        return 0
    fi
    apt_install "${missing_debs[@]}"
    for module in "${missing_modules[@]}"; do
        pkg-config --exists "$module" ||
            die "pkg-config still cannot find '$module' after installing its package"
    done
}

# ---------------------------------------------------------------------------
# Swift toolchain
# ---------------------------------------------------------------------------

CHORUS_SWIFT_HOME="${CHORUS_SWIFT_HOME:-/opt/swift}"

ensure_swift_on_path() {
    if command -v swift >/dev/null 2>&1; then
        return 0
    fi
    if [[ -x "$CHORUS_SWIFT_HOME/usr/bin/swift" ]]; then
        export PATH="$CHORUS_SWIFT_HOME/usr/bin:$PATH"
        return 0
    fi
    die "swift not found on PATH nor in $CHORUS_SWIFT_HOME/usr/bin"
}

# Flags of every release build: optimized, with the Swift runtime linked into the binary. An
# agent then maps a handful of libraries instead of a dozen: about 2 MB less RSS and a faster start.
# Every release build uses the same flags, so SwiftPM never rebuilds for a change of flags.
# shellcheck disable=SC2034 # used by the scripts that source this file
# Cross-module optimization lets the compiler specialize the generic replication core (and the
# other generic cores) for the stores' key and value types in the modules that use them: a node
# restores its stores about three times faster with it (chorus-stores-bench recover).
#
# The link: lld (in the Swift toolchain) with relative relocations packed (DT_RELR, glibc 2.36+),
# and no dynamic export of the binary's own symbols (swiftc exports them all by default; nothing
# looks them up: the runtime finds its metadata through sections, backtraces read the symbol
# table). The dynamic loader then reads 1.2 MB fewer relocations at start and searches a small
# symbol table: an idle agent maps about 2.3 MB less (16.2 -> 13.9 MB RSS, PIE kept).
CHORUS_RELEASE_FLAGS=(-c release --static-swift-stdlib -Xswiftc -cross-module-optimization
    -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic)

# Prints the arguments that select SwiftPM's build folder, one per line:
# nothing for the default (.build), or --scratch-path DIR when
# CHORUS_SCRATCH_PATH is set. Use as: mapfile -t args < <(swift_scratch_args)
swift_scratch_args() {
    if [[ -n "${CHORUS_SCRATCH_PATH:-}" ]]; then
        printf '%s\n' --scratch-path "$CHORUS_SCRATCH_PATH"
    fi
}

# The folder SwiftPM builds into (the default or CHORUS_SCRATCH_PATH).
swift_scratch_dir() {
    local dir="${CHORUS_SCRATCH_PATH:-$CHORUS_ROOT/.build}"
    case "$dir" in
        /*) printf '%s\n' "$dir" ;;
        *) printf '%s\n' "$CHORUS_ROOT/$dir" ;;
    esac
}

# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

# http_get URL [TOKEN_FILE]: print the body of a 2xx answer; fail (status 1) on
# no answer, a timeout (1 s by default, CHORUS_HTTP_TIMEOUT) or a non-2xx status.
# With TOKEN_FILE (a node's admin_token_file; '-' or empty for none) it sends
# `Authorization: Bearer <token>`, handed to curl on stdin so that the token
# never shows in a process list.
http_get() {
    local url="$1" token_file="${2:--}" token
    if [[ "$token_file" == - ]]; then
        curl --silent --fail --max-time "${CHORUS_HTTP_TIMEOUT:-1}" "$url" 2>/dev/null
        return
    fi
    token="$(tr -d ' \t\r\n' <"$token_file" 2>/dev/null)" || return 1
    printf 'header = "Authorization: Bearer %s"\n' "$token" |
        curl --config - --silent --fail --max-time "${CHORUS_HTTP_TIMEOUT:-1}" "$url" 2>/dev/null
}

# json_field NAME: print the top-level field NAME of the JSON object on stdin
# (empty when it is absent or the input is not a JSON object).
json_field() {
    python3 -c '
import json, sys
try:
    value = json.load(sys.stdin).get(sys.argv[1], "")
except Exception:
    value = ""
print("" if value is None else value)
' "$1"
}

# wait_for_http URL SECONDS [TOKEN_FILE]: poll URL every 0.2 s until it
# answers 2xx (with TOKEN_FILE's bearer token, as http_get).
# Returns 0 when it answered, 1 when SECONDS passed first.
wait_for_http() {
    local url="$1" seconds="$2" token_file="${3:--}"
    local deadline=$((SECONDS + seconds))
    progress_start
    while ((SECONDS < deadline)); do
        if http_get "$url" "$token_file" >/dev/null; then
            return 0
        fi
        progress "still waiting for $url"
        sleep 0.2
    done
    http_get "$url" "$token_file" >/dev/null
}
