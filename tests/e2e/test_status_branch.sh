#!/bin/bash
# test_status_branch.sh: Git as the record (issue 8) end to end on a real
# Podman service: the daemon deploys a pod from a local repository and
# commits the sync to keelson/status; a container killed out of band
# through Podman's REST API is restored by the agent and shows up as a
# `drift` commit naming the pod, the node, what was found and that it was
# healed; a bad commit produces a failed `sync` commit with file:line while
# the pod keeps running; the deploy branch and the work tree are untouched;
# the live dashboard at / shows all of it in headless Chromium (no console
# messages; screenshot in test-artifacts/).
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"
source "$KS_SOURCE_DIR/tests/e2e/lib/chromium.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"

ks_podman_start sb
ks_podman_image sb
sock=$(ks_podman_get sb SOCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-sb.XXXXXX")
ks_on_exit rm -rf "$work"
repo="$work/repo"
state="$work/state"
ks_git_identity
git init -q -b main "$repo"
cat > "$repo/web.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: app
      image: localhost/keelson-busybox:latest
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
YAML
git -C "$repo" add -A
git -C "$repo" commit -qm "web: one pod"
deploy_head=$(git -C "$repo" rev-parse main)

port=$(ks_free_port)
ks_daemon_run "$work/daemon.log" "$RECONCILE" --repo "$repo" --state-dir "$state" --listen "127.0.0.1:$port" --interval 0 \
  --podman-socket "$sock" --node-name n1 --writeback-interval 1s
fail() { tail -n 40 "$work/daemon.log" >&2; ks_fail "$@"; }

ks_daemon_api "$state" || fail "no api.url"
running() {
  api "$url/api/v1/namespaces/default/objects/Pod/web" | jq -e '.status.phase == "Running"' >/dev/null
}
ks_wait_for -t 120 running || fail "pod web is not running: $(api "$url/api/v1/namespaces/default/objects/Pod/web")"
log() { git -C "$repo" log keelson/status --format='%s%n%b%n--' 2>/dev/null; }
has_sync() { log | ks_grep "^sync ${deploy_head:0:7}: applied"; }
ks_wait_for -t 30 has_sync || fail "no sync commit on keelson/status: $(log)"
log | ks_grep "Keelson-Source: $deploy_head" || fail "sync commit lacks Keelson-Source"
log | ks_grep "Keelson-Event: sync" || fail "sync commit lacks Keelson-Event"
git -C "$repo" show keelson/status:sync.yaml | grep -q "result: ok" || fail "sync.yaml: $(git -C "$repo" show keelson/status:sync.yaml)"
healthy() { git -C "$repo" show keelson/status:status/default/Pod/web.yaml 2>/dev/null | grep -q "status: Healthy"; }
ks_wait_for -t 30 healthy || fail "no healthy status file for the pod: $(git -C "$repo" ls-tree -r --name-only keelson/status)"
git -C "$repo" show keelson/status:nodes/n1.yaml | grep -q "default/web" || fail "nodes/n1.yaml lacks the pod"

ks_log "kill the container out of band: drift is healed and committed"
curl -sS --unix-socket "$sock" -X POST "http://d/v4.0.0/libpod/containers/default_web_app/kill?signal=SIGKILL" \
  -o /dev/null -w '%{http_code}' | grep -q 204 || fail "kill through the REST API failed"
has_drift() { log | ks_grep "Keelson-Event: drift"; }
ks_wait_for -t 30 has_drift || fail "no drift commit: $(log)"
drift=$(git -C "$repo" log keelson/status --grep "Keelson-Event: drift" -1 --format='%s%n%b')
grep -q "default/web" <<<"$drift" || fail "drift commit does not name the pod: $drift"
grep -q "n1" <<<"$drift" || fail "drift commit does not name the node: $drift"
grep -q "Keelson-Object: Pod/default/web" <<<"$drift" || fail "drift commit lacks its object trailer: $drift"
dfile=$(git -C "$repo" show keelson/status:drift/default/web.yaml)
grep -q "healed: true" <<<"$dfile" || fail "drift file does not say it was healed: $dfile"
ks_wait_for -t 60 running || fail "pod web not running again after the kill"

ks_log "a bad commit: failed sync commit with file:line, the pod keeps running"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata: {}\n' > "$repo/broken.yaml"
git -C "$repo" add -A
git -C "$repo" commit -qm "broken manifest"
bad_head=$(git -C "$repo" rev-parse main)
has_failed() { log | ks_grep "^sync ${bad_head:0:7} failed: broken.yaml:[0-9]"; }
ks_wait_for -t 30 has_failed || fail "no failed sync commit naming broken.yaml:LINE: $(log | head -20)"
running || fail "the pod stopped after a bad commit"

ks_log "the deploy branch and the work tree are untouched"
[[ $(git -C "$repo" rev-parse main) == "$bad_head" ]] || fail "main moved"
[[ $(git -C "$repo" symbolic-ref HEAD) == refs/heads/main ]] || fail "HEAD moved"
[[ -z $(git -C "$repo" status --porcelain) ]] || fail "work tree changed: $(git -C "$repo" status --porcelain)"
mkdir -p "$KS_BUILD_DIR/test-artifacts"
git -C "$repo" log --oneline keelson/status > "$KS_BUILD_DIR/test-artifacts/status-branch-log.txt"

ks_log "the live dashboard"
page=$(curl -sS --max-time 10 "$url/")
grep -q "Current sync" <<<"$page" || fail "GET / is not the dashboard"
ks_chromium_run "$work/live" "$url/"
for want in "broken manifest" "data-live=\"1\"" "drift" "default/web" "n1"; do
  grep -qF -- "$want" "$work/live.dom" || fail "live dashboard lacks \"$want\""
done
grep -qF "broken.yaml:" "$work/live.dom" || fail "live dashboard does not show the failed sync's error"
ks_chromium_screenshot "$KS_BUILD_DIR/test-artifacts/dashboard-live.png" "$url/"
ks_daemon_stop
ks_log "ok: $(wc -l < "$KS_BUILD_DIR/test-artifacts/status-branch-log.txt") status commits"
