#!/bin/bash
# test_api_status_batch.sh: the batched pod status route and the node watch
# without the node's own status echoes (contracts3.md), against the real
# daemon with a node played by curl (no Podman): a Deployment of 2 replicas
# is bound to the registered node fake-1; one POST /api/v1/nodes/fake-1/status
# sets both pods Running (plus a missing pod: 404 item, in order); the
# admin watch sees both writes, fake-1's own watch answers at its timeout
# without them and with a revision past them; another node's token gets
# 401, more than 1000 items 413, a bad item 400 naming it; the per-pod route
# still answers the whole pod.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-api-batch.XXXXXX")
ks_on_exit rm -rf "$work"
repo="$work/repo"
state="$work/state"
ks_git_identity
unset KEELSON_SERVER KEELSON_TOKEN KEELSON_STATE_DIR
git init -q -b main "$repo"
mkdir -p "$repo/apps"
source "$KS_SOURCE_DIR/tests/e2e/lib/manifests.sh"
ks_sleeper_deployment "$repo/apps/web.yaml" 2
git -C "$repo" add -A
git -C "$repo" commit -qm web

port=$(ks_free_port)
ks_daemon_run "$work/daemon.log" "$RECONCILE" --repo "$repo" --path apps --state-dir "$state" \
  --listen "127.0.0.1:$port" --interval 0 --no-local-node
fail() { tail -n 40 "$work/daemon.log" >&2; ks_fail "$@"; }
ks_daemon_api "$state" || fail "the daemon did not listen"
"$RECONCILE" token create fake-1 --state-dir "$state" > /dev/null
"$RECONCILE" token create fake-2 --state-dir "$state" > /dev/null
t1=$(cat "$state/tokens/nodes/fake-1")
t2=$(cat "$state/tokens/nodes/fake-2")
node() { # node TOKEN ARGS...: curl as a node agent; prints the body, then the status code
  local t=$1
  shift
  curl -sS --max-time 20 -w '\n%{http_code}' -H "Authorization: Bearer $t" "$@"
}
code_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

r=$(node "$t1" -X POST -d '{"capacity":{"cpu":"8","memory":"16Gi","pods":"110"}}' \
  "$url/api/v1/nodes/fake-1/register")
[[ $(code_of "$r") == 200 ]] || fail "register: $r"
bound() { [[ $(node "$t1" "$url/api/v1/nodes/fake-1/pods" | sed '$d' | jq '.items | length') == 2 ]]; }
ks_wait_for -t 60 bound || fail "the 2 pods were not bound to fake-1"
list=$(node "$t1" "$url/api/v1/nodes/fake-1/pods" | sed '$d')
since=$(jq .revision <<<"$list")
mapfile -t pods < <(jq -r '.items[].metadata.name' <<<"$list")
ks_log "pods ${pods[*]} bound to fake-1 at revision $since"

# fake-1's own watch, parked while the batch is written
node "$t1" "$url/api/v1/nodes/fake-1/watch?since=$since&timeout=3s" > "$work/own-watch" &
watch_pid=$!
sleep 0.5
items=$(jq -cn --arg a "${pods[0]}" --arg b "${pods[1]}" '{items: [
  {namespace: "default", name: $a, status: {phase: "Running"}},
  {namespace: "default", name: "no-such-pod", status: {phase: "Running"}},
  {namespace: "default", name: $b, status: {phase: "Running"}}]}')
r=$(node "$t1" -X POST -H 'Content-Type: application/json' -d "$items" "$url/api/v1/nodes/fake-1/status")
[[ $(code_of "$r") == 200 ]] || fail "batch: $r"
reply=$(body_of "$r")
[[ $(jq -c '[.items[].code]' <<<"$reply") == '[200,404,200]' ]] || fail "batch codes: $reply"
[[ $(jq -r '.items[1].error' <<<"$reply") == "pod default/no-such-pod not found" ]] || fail "404 item: $reply"
[[ $(jq '.items[0] | has("object")' <<<"$reply") == false ]] || fail "the batch reply carries objects: $reply"
rv_a=$(jq -r '.items[0].resourceVersion' <<<"$reply")
rv_b=$(jq -r '.items[2].resourceVersion' <<<"$reply")
((rv_a > since && rv_b > since)) || fail "resourceVersions $rv_a $rv_b not after $since"
wait "$watch_pid" || fail "the node watch failed"
own=$(sed '$d' "$work/own-watch")
[[ $(tail -n1 "$work/own-watch") == 200 ]] || fail "node watch: $(cat "$work/own-watch")"
echoes=$(jq --argjson a "$rv_a" --argjson b "$rv_b" '[.changes[] | select(.revision == $a or .revision == $b)] | length' <<<"$own")
[[ $echoes == 0 ]] || fail "fake-1's watch carried its own status writes: $own"
(($(jq .revision <<<"$own") >= rv_b)) || fail "fake-1's watch revision did not move past its writes: $own"
admin=$(api "$url/api/v1/watch?since=$since&timeout=0")
seen=$(jq --argjson a "$rv_a" --argjson b "$rv_b" '[.changes[] | select((.revision == $a or .revision == $b) and .object.status.phase == "Running")] | length' <<<"$admin")
[[ $seen == 2 ]] || fail "the admin watch did not see both status writes: $admin"
for p in "${pods[@]}"; do
  [[ $(api "$url/api/v1/namespaces/default/objects/Pod/$p" | jq -r .status.phase) == Running ]] || fail "$p is not Running in the store"
done
ks_log "batch written in order (200, 404, 200), left out of fake-1's watch, seen by the admin"

r=$(node "$t2" -X POST -d "$items" "$url/api/v1/nodes/fake-1/status")
[[ $(code_of "$r") == 401 ]] || fail "another node's token: $r"
big=$(jq -cn --arg a "${pods[0]}" '{items: [range(1001) | {namespace: "default", name: $a, status: {}}]}')
r=$(node "$t1" -X POST -d "$big" "$url/api/v1/nodes/fake-1/status")
[[ $(code_of "$r") == 413 ]] || fail "1001 items: $r"
r=$(node "$t1" -X POST -d '{"items":[{"namespace":"default","name":"x","status":{}},{"name":"y"}]}' \
  "$url/api/v1/nodes/fake-1/status")
[[ $(code_of "$r") == 400 && $(body_of "$r") == *'items[1]'* ]] || fail "bad item: $r"
r=$(node "$t1" -X POST -d '{"phase":"Running","podIP":"10.88.0.9"}' \
  "$url/api/v1/nodes/fake-1/pods/default/${pods[0]}/status")
[[ $(code_of "$r") == 200 ]] || fail "per-pod route: $r"
[[ $(body_of "$r" | jq -r '.kind + " " + .spec.nodeName + " " + .status.podIP') == "Pod fake-1 10.88.0.9" ]] ||
  fail "per-pod route does not answer the whole pod: $r"
ks_log "401 for another node, 413 past 1000 items, 400 naming the item, per-pod route unchanged"
