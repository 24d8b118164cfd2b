#!/bin/bash
# test_daemon_local.sh: the embedded default with nothing but --repo: no
# Podman socket is given and none answers at the usual places, so the
# control plane starts a private `podman system service` on
# <state>/podman.sock (with the Podman configuration of its environment:
# here the storage and runc settings of a fixture directory whose own
# service is stopped first) and an embedded nodeagent child on it. A
# Deployment committed to the repository runs and answers; the agent killed
# with SIGKILL is restarted by the daemon and adopts it; SIGTERM stops the
# daemon, its agent and its Podman service while the containers keep
# running; a restarted daemon adopts them (same container ids, nothing
# recreated). The API speaks HTTPS (--tls-cert/--tls-key) and the embedded
# agent trusts the certificate through --ca-file.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"
source "$KS_SOURCE_DIR/tests/e2e/lib/manifests.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
NODEAGENT="$KS_BUILD_DIR/nodeagent/nodeagent"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"
[[ -x "$NODEAGENT" ]] || ks_fail "nodeagent binary not built at $NODEAGENT"
[[ ! -S /run/podman/podman.sock ]] ||
  ks_fail "/run/podman/podman.sock exists: this test needs a host where no Podman socket answers by default"

ks_podman_start dl
ks_podman_image dl
dir=$(ks_podman_get dl DIR)
# the fixture's own service goes away: reconcile must start one itself
fixture_pid=$(ks_podman_get dl PID)
kill -TERM "$fixture_pid"
wait "$fixture_pid" 2>/dev/null || true
export CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf"
unset CONTAINER_HOST
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-dl.XXXXXX")
ks_on_exit rm -rf "$work"
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -p "$XDG_RUNTIME_DIR"
repo="$work/repo"
state="$work/state"
ks_git_identity
git init -q -b main "$repo"
ks_web_deployment "$repo/web.yaml" 1 local
git -C "$repo" add -A
git -C "$repo" commit -qm web

# the API speaks HTTPS with a self-signed certificate; the embedded agent
# trusts it through --ca-file
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null || ks_fail "openssl req failed"
port=$(ks_free_port)
daemon_pid=
start_daemon() {
  "$RECONCILE" --repo "$repo" --state-dir "$state" --listen "127.0.0.1:$port" --interval 0 \
    --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --node-name dl >>"$work/daemon.log" 2>&1 &
  daemon_pid=$!
}
stop_daemon() {
  [[ -n "$daemon_pid" ]] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null || true
  local rc=0
  wait "$daemon_pid" || rc=$?
  daemon_pid=
  return "$rc"
}
ks_on_exit stop_daemon
fail() { tail -n 40 "$work/daemon.log" >&2; ks_fail "$@"; }

start_daemon
ks_wait_for -t 60 test -s "$state/api.url" || fail "no api.url"
url=$(head -n1 "$state/api.url")
token=$(cat "$state/tokens/admin")
[[ "$url" == "https://127.0.0.1:$port" ]] || fail "api.url holds '$url'"
api() { curl -sS --max-time 10 --cacert "$work/tls.crt" -H "Authorization: Bearer $token" "$@"; }
ready_ip() { # prints the pod IP once the one pod is Running and ready on node dl
  api "$url/api/v1/objects/Pod" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
ok = [p for p in items if p["spec"].get("nodeName") == "dl" and p.get("status", {}).get("phase") == "Running"
      and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
assert len(items) == 1 and len(ok) == 1
print(ok[0]["status"]["podIP"])'
}
grep -q 'msg="started a private Podman service"' "$work/daemon.log" || fail "no private Podman service started"
[[ -S "$state/podman.sock" ]] || fail "no $state/podman.sock"
ks_wait_for -t 120 ready_ip || fail "the pod is not running and ready: $(api "$url/api/v1/objects/Pod")"
ip=$(ready_ip)
[[ $(curl -sS --max-time 5 "http://$ip:8080/") == local ]] || fail "the pod does not answer on $ip"
ids() { ks_podman_cli dl ps --filter label=io.keelson.managed=true --filter status=running --format '{{.ID}}' | sort; }
before=$(ids)
[[ -n "$before" ]] || fail "no running keelson containers"

ks_log "the embedded agent killed: the daemon restarts it, the container is adopted"
agent=$(ks_podman_pids_grep cmdline "$state/tokens/nodes/dl")
[[ $(wc -w <<<"$agent") == 1 ]] || fail "want one embedded agent process, found '$agent'"
kill -KILL "$agent"
new_agent() { local p; p=$(ks_podman_pids_grep cmdline "$state/tokens/nodes/dl"); [[ -n "$p" && "$p" != "$agent" ]]; }
ks_wait_for -t 30 new_agent || fail "the embedded agent was not restarted"
grep -q 'msg="embedded node agent died; restarting"' "$work/daemon.log" || fail "no restart logged"
ks_wait_for -t 60 ready_ip || fail "not ready after the agent restart"
sleep 2
[[ "$(ids)" == "$before" ]] || fail "containers recreated after the agent restart: $before -> $(ids)"

ks_log "SIGTERM: the daemon, its agent and its Podman service stop; the containers keep running"
stop_daemon || fail "daemon exit status non-zero"
[[ -z $(ks_podman_pids_grep cmdline "unix://$state/podman.sock") ]] || ks_fail "the private Podman service outlived the daemon"
[[ -z $(ks_podman_pids_grep cmdline "$state/tokens/nodes/dl") ]] || ks_fail "the embedded agent outlived the daemon"
[[ "$(ids)" == "$before" ]] || ks_fail "containers changed when the daemon stopped: $before -> $(ids)"

ks_log "restart: the containers are adopted, nothing is recreated"
start_daemon
ks_wait_for -t 60 ready_ip || fail "not ready after the restart"
sleep 3
[[ "$(ids)" == "$before" ]] || fail "containers recreated after the restart: $before -> $(ids)"
stop_daemon || fail "daemon exit status non-zero"
ks_log "ok"
