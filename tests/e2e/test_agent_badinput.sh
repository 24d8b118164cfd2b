#!/bin/bash
# tests/e2e/test_agent_badinput.sh: bad input gives a clear pod status
# reason while the node agent keeps running its other pods: an image that
# does not exist, a host port already in use, forbidden hostPaths (/etc and
# /), and the Podman service going away and coming back. A labelled pod that
# nothing assigns (an orphan) is removed with a Drift event.
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build tree}"
KS_TEST_NAME=agent_badinput
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

ks_agent_workspace agentbad
pdir=$(ks_podman_get "$node" DIR)
img=$KS_PODMAN_IMAGE
holder_pid=
stop_holder() { [[ -z "$holder_pid" ]] || { kill "$holder_pid" 2>/dev/null && wait "$holder_pid" 2>/dev/null; } || true; }
ks_on_exit stop_holder
status() { cat "$work/report/status/default_$1.json" 2>/dev/null; }
reason_is() { [[ "$(status "$1" | jq -r .reason)" == "$2" ]]; }
ready() { [[ "$(status "$1" | jq -r '.conditions[]|select(.type=="Ready").status')" == True ]]; }

# something else holds the port
port=$(ks_free_port)
"$(command -v /usr/bin/python3 || command -v python3)" -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(600)' "$port" &
holder_pid=$!
ks_wait_for -t 20 ks_port_in_use "$port" || ks_fail "port holder did not start"

pod() { # NAME EXTRA-CONTAINER-YAML EXTRA-SPEC-YAML
  cat >"$work/pods/$1.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${4:-$img}
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
$2
$3
YAML
}
pod steady "" ""
pod noimage "" "" localhost/keelson-does-not-exist:1
pod busyport "    ports: [{containerPort: 80, hostPort: $port, hostIP: 127.0.0.1}]" ""
pod etc "    volumeMounts: [{name: h, mountPath: /h}]" "  volumes: [{name: h, hostPath: {path: /etc}}]"
pod root "    volumeMounts: [{name: h, mountPath: /h}]" "  volumes: [{name: h, hostPath: {path: /}}]"

ks_static_agent_start --resync 3s

ks_wait_for -t 60 ready steady || ks_fail "steady pod never Ready: $(status steady)"
ks_wait_for -t 30 reason_is noimage ErrImagePull || ks_fail "missing image: $(status noimage)"
status noimage | jq -e '.phase=="Pending" and (.message|test("keelson-does-not-exist")) and
  (.containerStatuses[0].state.waiting.reason|test("ImagePull"))' >/dev/null ||
  ks_fail "missing image status: $(status noimage)"
ks_wait_for -t 30 reason_is busyport PortInUse || ks_fail "port in use: $(status busyport)"
status busyport | jq -e '.message|test("address already in use")' >/dev/null || ks_fail "port message: $(status busyport)"
ks_wait_for -t 10 reason_is etc ForbiddenHostPath || ks_fail "hostPath /etc: $(status etc)"
status etc | jq -e '.message|test("/etc")' >/dev/null || ks_fail "/etc message: $(status etc)"
ks_wait_for -t 10 reason_is root ForbiddenHostPath || ks_fail "hostPath /: $(status root)"
ready steady || ks_fail "steady pod disturbed: $(status steady)"
ks_log "bad input reasons: $(for p in noimage busyport etc root; do printf '%s=%s ' "$p" "$(status $p | jq -r .reason)"; done)"

# a labelled pod nobody assigns (made behind the agent's back) is removed
code=$(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X POST -H 'Content-Type: application/json' \
  --data-binary "{\"name\":\"default_ghost\",\"labels\":{\"io.keelson.node\":\"$node\",\"io.keelson.pod-uid\":\"ghost-uid\",\"io.keelson.pod\":\"default/ghost\",\"io.keelson.source\":\"static\"}}" \
  "http://d/$KS_PODMAN_API_VERSION/libpod/pods/create")
[[ "$code" == 201 ]] || ks_fail "ghost pod create: HTTP $code"
ghost_gone() {
  [[ "$(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$sock" "http://d/$KS_PODMAN_API_VERSION/libpod/pods/default_ghost/json")" == 404 ]]
}
ks_wait_for -t 10 ghost_gone || ks_fail "orphan pod not removed"
grep '"what":"orphan"' "$work/report/events.ndjson" | jq -e 'select(.object.name=="ghost" and .drift.action=="removed")' >/dev/null ||
  ks_fail "no orphan drift event: $(cat "$work/report/events.ndjson")"
ks_log "orphan pod removed with a Drift event"

# the port frees up: the pod starts on its next retry
kill "$holder_pid"; wait "$holder_pid" 2>/dev/null || true; holder_pid=
ks_wait_for -t 40 ready busyport || ks_fail "busyport did not start once the port was free: $(status busyport)"

# Podman goes away: a clear reason; it comes back: pods run on, same containers
id=$(status steady | jq -r '.containerStatuses[0].containerID')
spid=$(ks_podman_get "$node" PID)
kill "$spid"; wait "$spid" 2>/dev/null || true
ks_wait_for -t 15 reason_is steady RuntimeUnavailable || ks_fail "Podman down: $(status steady)"
kill -0 "$agent_pid" || ks_fail "the agent died with Podman"
CONTAINERS_CONF="$pdir/containers.conf" CONTAINERS_STORAGE_CONF="$pdir/storage.conf" \
  podman --root "$pdir/root" --runroot "$pdir/runroot" system service --time=0 "unix://$sock" \
  </dev/null >>"$pdir/service.log" 2>&1 &
ks_podman_set "$node" PID "$!"
printf '%s\n' "$!" >"$pdir/service.pid"
back() { [[ "$(status steady | jq -r '.reason // "none"')" == none ]] && ready steady; }
ks_wait_for -t 30 back || ks_fail "steady pod not back after Podman returned: $(status steady)"
[[ "$(status steady | jq -r '.containerStatuses[0].containerID')" == "$id" ]] || ks_fail "container replaced after Podman came back"
ks_log "Podman down and back handled"

ks_static_agent_stop || ks_fail "agent exited non-zero on SIGTERM"
ks_log "PASS"
