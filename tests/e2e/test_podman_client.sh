#!/bin/bash
# tests/e2e/test_podman_client.sh: the node agent's Podman REST client
# (nodeagent/podman/) against a real, private Podman service.
#
# The checks themselves live in a cmocka program (progs/podman_client.c,
# built as e2e_podman_client); this script owns what a C program cannot:
# the Podman services (tests/e2e/lib/podman-fixture.sh), a free loopback
# port, and the service restart for the reconnect test. The client is given
# a socket path that is a symlink in this test's own directory; when the
# program asks (FIFO "stop"), the service behind it is stopped; on "start" a
# second service is started and the symlink pointed at it, so the program's
# one client handle sees the same path come back with a new service, as it
# would after `systemctl restart podman.socket`.
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build directory}"
KS_TEST_NAME=podman_client
# shellcheck source=lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

prog="$KS_BUILD_DIR/tests/e2e/e2e_podman_client"
[[ -x "$prog" ]] || ks_fail "$prog is not built (cmake --build $KS_BUILD_DIR --target e2e_podman_client)"

work=$(mktemp -d "${TMPDIR:-/tmp}/keelson-pc.XXXXXX") || ks_fail "mktemp -d failed"
ks_on_exit rm -rf "$work"

ks_podman_start pc1
ks_podman_image pc1

ln -s "$(ks_podman_get pc1 SOCK)" "$work/podman.sock" || ks_fail "cannot link $work/podman.sock"
mkfifo "$work/ctl" "$work/ack" || ks_fail "mkfifo in $work failed"
# Held open read-write by this shell, so neither side blocks opening them.
exec 7<>"$work/ctl" 8<>"$work/ack"

prog_pid=
stop_prog() {
  if [[ -n "$prog_pid" ]] && kill -0 "$prog_pid" 2>/dev/null; then
    kill -TERM "$prog_pid" 2>/dev/null
    sleep 0.2
    kill -KILL "$prog_pid" 2>/dev/null || true
  fi
}
# Registered after the fixture's hook, so it runs first: the program is
# gone before its services are torn down.
ks_on_exit stop_prog

KS_PODMAN_SOCK="$work/podman.sock" \
  KS_TEST_IMAGE="$KS_PODMAN_IMAGE" \
  KS_TEST_PORT="$(ks_free_port)" \
  KS_TEST_RUN="$$-$RANDOM" \
  KS_TEST_CTL="$work/ctl" \
  KS_TEST_ACK="$work/ack" \
  "$prog" </dev/null &
prog_pid=$!

# Serve the program's requests until it exits (bounded: ctest's timeout is
# 600 s; the program's own waits are shorter).
deadline=$((SECONDS + 500))
while kill -0 "$prog_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || ks_fail "e2e_podman_client still running after 500 s"
  cmd=
  if ! read -r -t 1 cmd <&7; then
    continue
  fi
  case "$cmd" in
    stop)
      t0=$(ks_now_ms)
      ks_podman_stop pc1 || ks_fail "stopping podman 'pc1' left something behind"
      ks_log "podman 'pc1' stopped in $(($(ks_now_ms) - t0)) ms"
      echo stopped >&8
      ;;
    start)
      ks_podman_start pc2
      ln -sfn "$(ks_podman_get pc2 SOCK)" "$work/podman.sock" || ks_fail "cannot re-link the socket"
      echo started >&8
      ;;
    *) ks_fail "unknown request '$cmd' from e2e_podman_client" ;;
  esac
done
status=0
wait "$prog_pid" || status=$?
prog_pid=
[[ $status -eq 0 ]] || ks_fail "e2e_podman_client failed (exit $status)"
ks_log "all podman client checks passed"
