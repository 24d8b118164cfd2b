# shellcheck shell=bash
# tests/e2e/lib/common.sh: small helpers every e2e test sources.
#
# e2e tests are plain bash scripts run by ctest (one process per test, no
# stdin, CI=true). They need the same few things again and again: a way to
# fail loudly, a bounded retry loop (services come up asynchronously), a free
# loopback port (tests run concurrently, so ports are picked, never fixed),
# millisecond timings, and cleanup that runs even when a test fails or is
# interrupted. Everything here is plain bash plus coreutils; nothing is
# installed on the fly.
#
# Cleanup: ks_on_exit CMD... registers a cleanup command. The first call
# installs one trap on EXIT, INT and TERM that runs the registered commands in
# reverse order, exactly once. Tests must use ks_on_exit instead of their own
# `trap ... EXIT`, which would replace this one.

if [[ -n "${KS_E2E_COMMON_LOADED:-}" ]]; then
  return 0
fi
KS_E2E_COMMON_LOADED=1

# ks_log MSG...: one line on stderr, prefixed with the test's name, so output
# of concurrent tests stays readable in ctest logs.
ks_log() {
  printf '[%s] %s\n' "${KS_TEST_NAME:-${0##*/}}" "$*" >&2
}

# ks_fail MSG...: print MSG and exit non-zero (the exit trap still cleans up).
ks_fail() {
  printf '[%s] FAIL: %s\n' "${KS_TEST_NAME:-${0##*/}}" "$*" >&2
  exit 1
}

# ks_now_ms: wall-clock milliseconds since the epoch.
ks_now_ms() {
  local t
  t=$(date +%s%N) || ks_fail "date +%s%N failed"
  printf '%s\n' $((t / 1000000))
}

# ks_wait_for [-t SECONDS] [-i INTERVAL] CMD...: run CMD until it succeeds.
# Returns 0 on success, 1 when SECONDS (default 30) pass first. CMD's output
# is discarded; re-run it yourself if you need it for an error message.
ks_wait_for() {
  local timeout=30 interval=0.1
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -t) timeout="$2"; shift 2 ;;
      -i) interval="$2"; shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  [[ $# -gt 0 ]] || ks_fail "ks_wait_for: no command given"
  [[ "$timeout" =~ ^[0-9]+$ ]] || ks_fail "ks_wait_for: timeout '$timeout' is not a whole number of seconds"
  local deadline=$((SECONDS + timeout))
  while true; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep "$interval"
  done
}

# ks_port_in_use PORT: true when something listens on 127.0.0.1:PORT (TCP),
# or when a netavark port forward already claims it (those are iptables DNAT
# rules, invisible to connect() until a container answers behind them).
ks_port_in_use() {
  local port="$1"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    return 0
  fi
  if command -v iptables >/dev/null 2>&1 &&
    iptables -w -t nat -S 2>/dev/null | grep -Eq -- "--dport $port( |$)"; then
    return 0
  fi
  return 1
}

# ks_free_port: print a TCP port on 127.0.0.1 that nothing uses right now.
# Ports come from a range below the kernel's ephemeral range (32768+), so an
# outgoing connection will not grab one between picking and binding; the
# start is random so concurrent tests rarely try the same one. A port that is
# free now can still be taken later: bind it soon.
ks_free_port() {
  local lo=20000 span=10000 tries=0 port
  port=$((lo + (RANDOM * 32768 + RANDOM) % span))
  while ((tries < 200)); do
    if ! ks_port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
    port=$((lo + (port - lo + 1) % span))
    tries=$((tries + 1))
  done
  ks_fail "ks_free_port: no free port found after 200 tries in $lo-$((lo + span - 1))"
}

# Cleanup registry (see the header).
KS_EXIT_HOOKS=()
KS_EXIT_TRAP_SET=
KS_EXIT_RUNNING=

ks_run_exit_hooks() {
  local status="$1" i
  [[ -z "$KS_EXIT_RUNNING" ]] || return 0
  KS_EXIT_RUNNING=1
  for ((i = ${#KS_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
    eval "${KS_EXIT_HOOKS[$i]}" || status=1
  done
  return "$status"
}

ks_exit_trap() {
  local status="$1" sig="$2" rc
  # Ignore further INT/TERM while cleaning up: Ctrl-C and `timeout` signal the
  # whole process group, often twice, and a half-done cleanup leaks
  # containers and mounts. Cleanup steps have their own time limits.
  trap '' INT TERM
  trap - EXIT
  rc=0
  ks_run_exit_hooks "$status" || rc=$?
  if [[ -n "$sig" ]]; then
    ks_log "interrupted by SIG$sig"
    exit $((128 + $(kill -l "$sig")))
  fi
  exit "$rc"
}

# ks_on_exit CMD...: run CMD (a quoted command line, eval'ed) at exit.
ks_on_exit() {
  local cmd
  printf -v cmd '%q ' "$@"
  KS_EXIT_HOOKS+=("$cmd")
  if [[ -z "$KS_EXIT_TRAP_SET" ]]; then
    trap 'ks_exit_trap $? ""' EXIT
    trap 'ks_exit_trap 130 INT' INT
    trap 'ks_exit_trap 143 TERM' TERM
    KS_EXIT_TRAP_SET=1
  fi
}

# ks_git_identity: a fixed author and committer for the git commits a test
# makes (CI machines have no git identity configured).
ks_git_identity() {
  export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.org
  export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.org
}

# ks_apiserver_workspace TAG: the set-up of tests that fill a store with
# `reconcile --once --no-local-node` and read it through the e2e API server
# (tests/e2e/progs/apiserver.c): RECONCILE and APISERVER (both checked to be
# built), $work (a temp dir removed on exit) with $repo and $state paths
# ($state made), a git identity, and no KEELSON_* from the caller's shell.
ks_apiserver_workspace() {
  RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
  APISERVER="$KS_BUILD_DIR/tests/e2e/e2e_apiserver"
  [[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"
  [[ -x "$APISERVER" ]] || ks_fail "e2e_apiserver not built at $APISERVER"
  work=$(mktemp -d "${TMPDIR:-/tmp}/ks-$1.XXXXXX")
  ks_on_exit rm -rf "$work"
  repo="$work/repo"
  state="$work/state"
  mkdir -p "$state"
  ks_git_identity
  unset KEELSON_SERVER KEELSON_TOKEN KEELSON_STATE_DIR
}

# ks_daemon_run LOG CMD...: starts CMD (a `reconcile` daemon, usually) in the
# background with its output appended to LOG; KS_DAEMON_PID is its pid and it
# is stopped on exit. ks_daemon_stop stops it now (TERM, then wait; its exit
# status is not judged: tests that check it wait themselves); calling it again
# does nothing.
KS_DAEMON_PID=
ks_daemon_run() {
  local log=$1
  shift
  "$@" >>"$log" 2>&1 &
  KS_DAEMON_PID=$!
  ks_on_exit ks_daemon_stop
}
ks_daemon_stop() {
  [[ -n "$KS_DAEMON_PID" ]] || return 0
  kill -TERM "$KS_DAEMON_PID" 2>/dev/null || true
  wait "$KS_DAEMON_PID" || true
  KS_DAEMON_PID=
}

# ks_daemon_api STATE_DIR: waits (60 s) for the daemon's api.url in STATE_DIR,
# then sets url and token (the admin token) and defines `api ARGS...`: curl
# with that token. Returns 1 when the daemon never listened.
ks_daemon_api() {
  ks_wait_for -t 60 test -s "$1/api.url" || return 1
  url=$(head -n1 "$1/api.url")
  token=$(cat "$1/tokens/admin")
  api() { curl -sS --max-time 10 -H "Authorization: Bearer $token" "$@"; }
}

# ks_grep ARGS...: grep -q ARGS over all of stdin. A plain `producer | grep -q`
# under `set -o pipefail` fails at random when grep exits at the first match
# and the producer (git log, a long listing) is killed by SIGPIPE; this reads
# everything first.
ks_grep() {
  local input
  input=$(cat)
  grep -q "$@" <<<"$input"
}
