#!/bin/bash
# test_drift_pr.sh: --drift-pr end to end (issue 8) on a real Podman service
# with a bare file:// remote. A Deployment of two pods with self-heal off
# (keelson.io/self-heal: "false") is deployed from a local repository.
#  1. One pod's container is killed out of band through Podman's REST API:
#     the agent reports it and leaves it stopped; the remote gets branch
#     keelson/drift/default/<pod> based on the deployed commit with one
#     commit adding the note drift/default/<pod>.md (a stopped container is
#     no manifest change).
#  2. The other pod's container is replaced out of band the way a user on
#     the host does it: `podman rm -f` and `podman run` with the same name,
#     pod and keelson labels (spec-hash included) but another image tag and
#     another command. The agent compares the container's config with the
#     spec and reports drift.found / drift.desired; its branch changes the
#     Deployment's manifest in web.yaml at those two lines, comments kept;
#     the status branch's drift file holds the diff of desired to found.
#  3. The first branch is deleted on the remote (pull request closed): the
#     control plane replaces that pod (a new pod, running), the other pod and
#     its branch are left alone; the status branch records the heal.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"

ks_podman_start dp
ks_podman_image dp
sock=$(ks_podman_get dp SOCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-dp.XXXXXX")
ks_on_exit rm -rf "$work"
repo="$work/repo"
remote="$work/remote.git"
state="$work/state"
ks_git_identity
git init -q -b main "$repo"
git init -q --bare "$remote"
cat > "$repo/web.yaml" <<'YAML'
# the web tier: drift is reported, not healed
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        keelson.io/self-heal: "false"
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: app
          image: localhost/keelson-busybox:latest   # the only image here
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
YAML
git -C "$repo" add -A
git -C "$repo" commit -qm "web: two pods, self-heal off"
git -C "$repo" push -q "file://$remote" main
deploy_head=$(git -C "$repo" rev-parse main)

port=$(ks_free_port)
ks_daemon_run "$work/daemon.log" "$RECONCILE" --repo "$repo" --state-dir "$state" --listen "127.0.0.1:$port" --interval 0 \
  --podman-socket "$sock" --node-name n1 --writeback-interval 1s \
  --status-remote "file://$remote" --drift-pr
fail() { tail -n 40 "$work/daemon.log" >&2; ks_fail "$@"; }

ks_daemon_api "$state" || fail "no api.url"
running_pods() {
  api "$url/api/v1/objects/Pod" |
    jq -r '.items[] | select(.status.phase == "Running" and .metadata.deletionTimestamp == null) | .metadata.name' | sort
}
two_running() { [[ $(running_pods | wc -l) == 2 ]]; }
ks_wait_for -t 120 two_running || fail "two pods are not running: $(api "$url/api/v1/objects/Pod")"
mapfile -t pods < <(running_pods)
pod_a=${pods[0]}
pod_b=${pods[1]}
uid_of() { api "$url/api/v1/namespaces/default/objects/Pod/$1" | jq -r .metadata.uid; }
uid_a=$(uid_of "$pod_a")
branch_a="keelson/drift/default/$pod_a"
branch_b="keelson/drift/default/$pod_b"
rgit() { git --git-dir="$remote" "$@"; }
has_ref() { rgit rev-parse -q --verify "refs/heads/$1" >/dev/null; }

ks_log "1. kill $pod_a's container out of band: reported, left stopped, a note branch"
t0=$(ks_now_ms)
curl -sS --unix-socket "$sock" -X POST "http://d/v4.0.0/libpod/containers/default_${pod_a}_app/kill?signal=SIGKILL" \
  -o /dev/null -w '%{http_code}' | grep -q 204 || fail "kill through the REST API failed"
ks_wait_for -t 30 has_ref "$branch_a" || fail "no branch $branch_a on the remote: $(rgit for-each-ref)"
ks_log "branch $branch_a on the remote $(($(ks_now_ms) - t0)) ms after the kill"
[[ $(rgit rev-parse "$branch_a^") == "$deploy_head" ]] || fail "$branch_a is not based on the deployed commit"
[[ $(rgit rev-list --count "main..$branch_a") == 1 ]] || fail "$branch_a has more than one commit"
changed=$(rgit diff --name-only main "$branch_a")
[[ "$changed" == "drift/default/$pod_a.md" ]] || fail "$branch_a changes: $changed"
note=$(rgit show "$branch_a:drift/default/$pod_a.md")
grep -q "container-stopped" <<<"$note" || fail "note lacks what was found: $note"
grep -q "Deployment default/web from web.yaml" <<<"$note" || fail "note lacks the desired state's source: $note"
msg=$(rgit log -1 --format=%B "$branch_a")
grep -q "^drift: default/$pod_a container app container-stopped, not healed" <<<"$msg" || fail "subject: $msg"
for t in "Keelson-Event: drift" "Keelson-Object: Pod/default/$pod_a" "Keelson-Object: Deployment/default/web" \
  "Keelson-Source: $deploy_head" "Keelson-Pod-Uid: $uid_a"; do
  grep -qF "$t" <<<"$msg" || fail "$branch_a lacks trailer $t: $msg"
done
state_of() { ks_podman_cli dp container inspect --format '{{.State.Status}}' "default_${1}_app" 2>/dev/null; }
[[ $(state_of "$pod_a") == exited ]] || fail "the killed container was not left as found: $(state_of "$pod_a")"

ks_log "2. replace $pod_b's container out of band (podman rm -f + podman run, labels kept): the manifest is edited"
ctr_b="default_${pod_b}_app"
ks_podman_cli dp tag localhost/keelson-busybox:latest localhost/keelson-busybox:v2 ||
  fail "podman tag failed"
label_args=()
while IFS= read -r l; do label_args+=(--label "$l"); done < <(
  ks_podman_cli dp container inspect "$ctr_b" | jq -r '.[0].Config.Labels | to_entries[] | "\(.key)=\(.value)"')
[[ ${#label_args[@]} -ge 14 ]] || fail "labels of $ctr_b: ${label_args[*]}"
printf '%s\n' "${label_args[@]}" | grep -q '^io.keelson.spec-hash=' || fail "no spec-hash label on $ctr_b"
t0=$(ks_now_ms)
ks_podman_cli dp rm -f -t 0 "$ctr_b" >/dev/null || fail "podman rm -f failed"
ks_podman_cli dp run -d --pod "default_$pod_b" --name "$ctr_b" "${label_args[@]}" localhost/keelson-busybox:v2 \
  sh -c "trap 'exit 0' TERM; while true; do sleep 2; done" >/dev/null || fail "podman run failed"
ks_wait_for -t 60 has_ref "$branch_b" || fail "no branch $branch_b on the remote: $(rgit for-each-ref)"
ks_log "branch $branch_b on the remote $(($(ks_now_ms) - t0)) ms after the replacement"
diff_b=$(rgit diff -U0 main "$branch_b" -- web.yaml | grep '^[-+] ' || true)
want_b=$'-          image: localhost/keelson-busybox:latest   # the only image here\n-          command: ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 1; done"]\n+          image: localhost/keelson-busybox:v2   # the only image here\n+          command: ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 2; done"]'
[[ "$diff_b" == "$want_b" ]] || fail "$branch_b's change of web.yaml: $diff_b"
[[ $(rgit diff --name-only main "$branch_b") == web.yaml ]] || fail "$branch_b changes more: $(rgit diff --name-only main "$branch_b")"
[[ $(rgit log -1 --format=%s "$branch_b") == "drift: accept image localhost/keelson-busybox:v2, command of container app into Deployment default/web" ]] ||
  fail "subject: $(rgit log -1 --format=%s "$branch_b")"
msg_b=$(rgit log -1 --format=%B "$branch_b")
grep -qF 'desired: {"image":"localhost/keelson-busybox:latest","command":["sh","-c","trap '"'"'exit 0'"'"' TERM; while true; do sleep 1; done"]}' <<<"$msg_b" ||
  fail "the message lacks what was desired: $msg_b"
grep -q "msg=drift pod=$pod_b ns=default what=spec-changed container=app found=\"image localhost/keelson-busybox:v2 instead of localhost/keelson-busybox:latest; command .* action=reported" "$work/daemon.log" ||
  fail "the agent did not log the spec-changed drift"
# the status branch's drift file carries both sides and their diff
status_drift() { rgit show "keelson/status:drift/default/$pod_b.yaml" 2>/dev/null; }
has_diff() { status_drift | grep -q '^  +image: localhost/keelson-busybox:v2$'; }
ks_wait_for -t 30 has_diff || fail "drift/default/$pod_b.yaml on the status branch: $(status_drift)"
status_drift | grep -q '^  -image: localhost/keelson-busybox:latest$' || fail "no desired side in the diff: $(status_drift)"
status_drift | grep -q '^what: spec-changed$' || fail "drift file: $(status_drift)"
[[ $(ks_podman_cli dp container inspect --format '{{.Config.Image}} {{.State.Status}}' "$ctr_b") == "localhost/keelson-busybox:v2 running" ]] ||
  fail "the replacement was not left as found: $(ks_podman_cli dp container inspect --format '{{.Config.Image}} {{.State.Status}}' "$ctr_b")"
tip_b=$(rgit rev-parse "$branch_b")

ks_log "3. the pull request of $branch_a is closed (branch deleted): $pod_a is replaced"
t0=$(ks_now_ms)
rgit branch -q -D "$branch_a"
replaced() {
  local pods
  pods=$(running_pods)
  [[ $(wc -l <<<"$pods") == 2 ]] && ! grep -qx "$pod_a" <<<"$pods" && grep -qx "$pod_b" <<<"$pods"
}
ks_wait_for -t 90 replaced || fail "$pod_a was not replaced: $(running_pods | tr '\n' ' ')"
ks_log "pod replaced $(($(ks_now_ms) - t0)) ms after the branch was deleted"
[[ $(rgit rev-parse "$branch_b") == "$tip_b" ]] || fail "$branch_b moved"
ks_wait_for -t 30 bash -c "git --git-dir='$remote' log keelson/status --format=%B | grep -q 'drift branch closed without merging; pod replaced'" ||
  fail "the heal is not on the status branch: $(rgit log --format=%s keelson/status | head)"
grep -q "drift branch closed without merging: pod replaced" "$work/daemon.log" || fail "the heal is not logged"
[[ $(git -C "$repo" rev-parse main) == "$deploy_head" ]] || fail "the deploy branch moved"
[[ -z $(git -C "$repo" status --porcelain) ]] || fail "work tree changed: $(git -C "$repo" status --porcelain)"
mkdir -p "$KS_BUILD_DIR/test-artifacts"
{
  rgit log --format='%H %s%n%b' "$branch_b" -1
  rgit show "$branch_b" -- web.yaml
} > "$KS_BUILD_DIR/test-artifacts/drift-pr-branch.txt"
ks_daemon_stop
ks_log "ok"
