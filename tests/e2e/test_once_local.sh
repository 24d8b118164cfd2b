#!/bin/bash
# test_once_local.sh: `reconcile --once --wait` end to end on the embedded
# default against a private Podman service: the embedded nodeagent child
# registers, the Deployment's 2 replicas are bound to it, started, Ready,
# and answer HTTP on their pod IPs; the pods keep running after the command
# exits; a second pass is in sync and recreates nothing; an env change in
# Git replaces both pods; a pod that fits nowhere times out with exit 1 and
# the scheduler's reason; a pod of nobody that fails ends the wait at once.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"
source "$KS_SOURCE_DIR/tests/e2e/lib/manifests.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
NODEAGENT="$KS_BUILD_DIR/nodeagent/nodeagent"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"
[[ -x "$NODEAGENT" ]] || ks_fail "nodeagent binary not built at $NODEAGENT"

ks_podman_start once1
ks_podman_image once1
sock=$(ks_podman_get once1 SOCK)

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-once-local.XXXXXX")
ks_on_exit rm -rf "$work"
repo="$work/repo"
state="$work/state"
ks_git_identity
git init -q -b main "$repo"
write_web() { ks_web_deployment "$repo/web.yaml" 2 "$1"; }
write_web hello
git -C "$repo" add -A
git -C "$repo" commit -qm "web"

once() {
  "$RECONCILE" --once --repo "$repo" --state-dir "$state" --podman-socket "$sock" \
    --node-name once1 "$@"
}
pods_running() { ks_podman_cli once1 ps --filter label=io.keelson.managed=true --filter status=running \
  --format '{{.Labels}}' | grep -o 'io.keelson.pod:[^ ]*' | sort -u; }
pod_ips() {
  sqlite3 "$state/state.db" "SELECT json_extract(body, '$.status.podIP') FROM objects WHERE kind='Pod' AND json_extract(body, '$.status.phase')='Running'"
}

ks_log "first pass: 2 replicas on the embedded node, running and ready"
t0=$(ks_now_ms)
once --wait --timeout 120s > "$work/out1.txt" 2> "$work/err1.txt" ||
  { cat "$work/out1.txt" "$work/err1.txt" "$state/agent/nodeagent.log" >&2; ks_fail "first pass failed"; }
ks_log "first pass: $(($(ks_now_ms) - t0)) ms"
cat "$work/out1.txt" >&2
[[ $(grep -c 'once1 *Running *ready' "$work/out1.txt") == 2 ]] || ks_fail "want 2 pods Running ready on once1"
[[ -z $(pgrep -f -- "--token-file $state/" || true) ]] || ks_fail "the embedded agent outlived reconcile"
[[ $(pods_running | wc -l) == 2 ]] || ks_fail "pods not left running: $(pods_running)"
for ip in $(pod_ips); do
  body=$(curl -sS --max-time 5 "http://$ip:8080/") || ks_fail "no answer from pod IP $ip"
  [[ "$body" == hello ]] || ks_fail "pod $ip answered '$body'"
done

ks_log "second pass: in sync, nothing recreated"
before=$(pods_running)
once --wait --timeout 60s > "$work/out2.txt" 2>&1 || { cat "$work/out2.txt" >&2; ks_fail "second pass failed"; }
grep -q "in sync" "$work/out2.txt" || ks_fail "second pass not in sync: $(cat "$work/out2.txt")"
[[ "$(pods_running)" == "$before" ]] || ks_fail "pods changed: $before -> $(pods_running)"

ks_log "an env change in Git replaces both pods"
write_web bonjour
git -C "$repo" commit -qam "greeting"
once --wait --timeout 120s > "$work/out3.txt" 2>&1 || { cat "$work/out3.txt" >&2; ks_fail "third pass failed"; }
after=$(sqlite3 "$state/state.db" "SELECT name FROM objects WHERE kind='Pod'" | sort)
[[ $(wc -l <<<"$after") == 2 ]] || ks_fail "want 2 pods in the store: $after"
for ip in $(pod_ips); do
  body=$(curl -sS --max-time 5 "http://$ip:8080/") || ks_fail "no answer from pod IP $ip"
  [[ "$body" == bonjour ]] || ks_fail "pod $ip answered '$body' after the change"
done

ks_log "a pod that fits nowhere: exit 1 at the timeout with the scheduler's reason"
cat > "$repo/big.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: big
spec:
  containers:
    - name: c
      image: localhost/keelson-busybox:latest
      resources:
        requests: {cpu: "4000"}
YAML
git -C "$repo" add -A && git -C "$repo" commit -qm "too big"
set +e
once --timeout 5s > "$work/out4.txt" 2>&1
rc=$?
set -e
[[ $rc == 1 ]] || ks_fail "unschedulable pod: exit $rc, want 1"
grep -q "default/big .*(unbound).*Pending.*Insufficient cpu" "$work/out4.txt" ||
  ks_fail "no scheduler reason: $(cat "$work/out4.txt")"

ks_log "a pod of nobody that fails: exit 1 at once, not at the timeout"
git -C "$repo" rm -q big.yaml
cat > "$repo/fail.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: fails
spec:
  restartPolicy: Never
  containers:
    - name: c
      image: localhost/keelson-busybox:latest
      command: ["sh", "-c", "sleep 2; exit 3"]
      readinessProbe:
        exec: {command: ["false"]}
        periodSeconds: 1
YAML
git -C "$repo" add -A && git -C "$repo" commit -qm "a failing pod"
t0=$(ks_now_ms)
set +e
once --wait --timeout 100s > "$work/out5.txt" 2>&1
rc=$?
set -e
dt=$(($(ks_now_ms) - t0))
[[ $rc == 1 ]] || ks_fail "failing pod: exit $rc, want 1: $(cat "$work/out5.txt")"
grep -q "a pod failed" "$work/out5.txt" && grep -q "default/fails .*once1 *Failed" "$work/out5.txt" ||
  ks_fail "failing pod not reported: $(cat "$work/out5.txt")"
((dt < 90000)) || ks_fail "a failed pod was only noticed at the timeout ($dt ms)"
ks_log "ok"
