#!/bin/bash
# test_cli_get_status.sh: `reconcile token create`, `reconcile get` and
# `reconcile status` as a user runs them against a real API server
# (tests/e2e/progs/apiserver.c over a real SQLite store in a temp state dir)
# filled by `reconcile --once --no-local-node` from a real git repository.
# The node's side is played with curl (register, pod status) using the token
# `token create` minted while the server was already running. Checks the
# tables, -o json/yaml, kinds' short names, selectors, the Unix socket, a
# failed sync's file:line in status, and the errors (wrong token, no server,
# unknown object): one "reconcile:" line and exit 1.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
ks_apiserver_workspace cli

git init -q -b main "$repo"
cat > "$repo/shop.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
  labels: {app: web}
data:
  greeting: hello
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: db-config
  namespace: shop
  labels: {app: db}
data:
  size: small
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: localhost/keelson-busybox:latest
YAML
git -C "$repo" add -A && git -C "$repo" commit -qm "shop"

ks_log "token create works without a server (default URL), and reads back the same token"
out=$("$RECONCILE" token create n1 --state-dir "$state")
tok=$(sed -n 's/^token: //p' <<<"$out")
[[ "$tok" =~ ^[0-9a-f]{64}$ ]] || ks_fail "no token printed: $out"
[[ "$out" == *"nodeagent --server http://127.0.0.1:7480 --token $tok --name n1"* ]] ||
  ks_fail "join command: $out"
[[ $(stat -c %a "$state/tokens/nodes/n1") == 600 ]] || ks_fail "token file mode"
again=$("$RECONCILE" token create n1 --state-dir "$state" | sed -n 's/^token: //p')
[[ "$again" == "$tok" ]] || ks_fail "token create minted a different token for n1"
set +e
err=$("$RECONCILE" token create ../x --state-dir "$state" 2>&1); rc=$?
set -e
[[ $rc -eq 1 && "$err" == "reconcile: "* ]] || ks_fail "bad node name accepted (exit $rc): $err"

ks_log "starting the API server"
"$APISERVER" "$state" 2>"$work/apiserver.log" &
server_pid=$!
ks_on_exit kill "$server_pid"
ks_wait_for -t 20 test -s "$state/api.url" || ks_fail "api.url not written: $(cat "$work/apiserver.log")"
url=$(cat "$state/api.url")
admin=$(cat "$state/tokens/admin")

ks_log "a node token minted while the server runs is accepted; the node registers"
out=$("$RECONCILE" token create n2 --state-dir "$state")
[[ "$out" == *"nodeagent --server $url --token "*" --name n2"* ]] || ks_fail "join URL: $out"
tok2=$(sed -n 's/^token: //p' <<<"$out")
node_post() { # NODE TOKEN PATH BODY
  curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' --data "$4" "$url/api/v1/nodes/$1/$3"
}
capacity='{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"labels":{"zone":"a"}}'
[[ $(node_post n1 "$tok" register "$capacity") == 200 ]] || ks_fail "n1 register refused"
[[ $(node_post n2 "$tok2" register "$capacity") == 200 ]] || ks_fail "n2 register (late token) refused"
[[ $(node_post n2 "$tok" register "$capacity") == 401 ]] || ks_fail "n1's token worked for n2"

ks_log "reconcile --once --no-local-node fills the store; pods are bound to the nodes"
"$RECONCILE" --once --no-local-node --repo "$repo" --state-dir "$state" >"$work/once.out" 2>&1 ||
  ks_fail "--once failed: $(cat "$work/once.out")"
mapfile -t pods < <(curl -sS -H "Authorization: Bearer $admin" \
  "$url/api/v1/namespaces/shop/objects/Pod" | jq -r '.items[] | .metadata.name + " " + .spec.nodeName')
[[ ${#pods[@]} -eq 2 ]] || ks_fail "want 2 pods, store has: ${pods[*]}"
for p in "${pods[@]}"; do
  name=${p% *} node=${p#* }
  t=$tok
  [[ "$node" == n2 ]] && t=$tok2
  status='{"phase":"Running","startTime":"2026-01-01T00:00:00Z","containerStatuses":[{"name":"web","ready":true,"restartCount":1}],"conditions":[{"type":"Ready","status":"True"}]}'
  [[ $(node_post "$node" "$t" "pods/shop/$name/status" "$status") == 200 ]] ||
    ks_fail "status of $name on $node refused"
done

ks_log "get pods: a table with NODE PHASE READY RESTARTS AGE"
out=$("$RECONCILE" get pods -n shop --state-dir "$state")
head -1 <<<"$out" | grep -Eq '^NAMESPACE +NAME +NODE +PHASE +READY +RESTARTS +AGE$' ||
  ks_fail "pod table header: $out"
[[ $(grep -Ec '^shop +web-[a-z0-9-]+ +n[12] +Running +1/1 +1 +[0-9]+[smhd]$' <<<"$out") -eq 2 ]] ||
  ks_fail "pod rows: $out"
noage() { sed -E 's/ +[^ ]+$//' <<<"$1"; } # AGE ticks between two calls
for kind in po PODS Pod pod; do
  [[ $(noage "$("$RECONCILE" get "$kind" -n shop --state-dir "$state")") == $(noage "$out") ]] ||
    ks_fail "get $kind differs"
done
out=$("$RECONCILE" get pods -A --state-dir "$state")
[[ $(grep -c '^shop ' <<<"$out") -eq 2 ]] || ks_fail "get pods -A: $out"
err=$("$RECONCILE" get pods --state-dir "$state" 2>&1 >/dev/null)
[[ "$err" == "No resources found in default namespace." ]] || ks_fail "empty default ns: $err"

ks_log "get deploy -o json / yaml, get nodes, get cm -l, get ns"
json=$("$RECONCILE" get deploy -n shop -o json --state-dir "$state")
[[ $(jq -r '.kind' <<<"$json") == List && $(jq -r '.items[0].metadata.name' <<<"$json") == web &&
  $(jq -r '.items[0].spec.replicas' <<<"$json") == 2 ]] || ks_fail "get deploy -o json: $json"
one=$("$RECONCILE" get deployment web -n shop -o json --state-dir "$state")
[[ $(jq -r '.kind + "/" + .metadata.name' <<<"$one") == Deployment/web ]] || ks_fail "get deployment web: $one"
yaml=$("$RECONCILE" get deploy web -n shop -o yaml --state-dir "$state")
grep -q '^kind: Deployment$' <<<"$yaml" && grep -q '^  replicas: 2$' <<<"$yaml" || ks_fail "yaml: $yaml"
out=$("$RECONCILE" get deploy -n shop --state-dir "$state")
head -1 <<<"$out" | grep -Eq '^NAMESPACE +NAME +READY +UP-TO-DATE +AVAILABLE +AGE$' || ks_fail "deploy table: $out"
grep -Eq '^shop +web +[0-9]/2 ' <<<"$out" || ks_fail "deploy row: $out"
out=$("$RECONCILE" get no --state-dir "$state")
head -1 <<<"$out" | grep -Eq '^NAME +STATUS +PODS +AGE$' || ks_fail "node table: $out"
[[ $(grep -Ec '^n[12] +Ready +[0-2] ' <<<"$out") -eq 2 ]] || ks_fail "node rows: $out"
total=$(awk 'NR > 1 { s += $3 } END { print s }' <<<"$out")
[[ "$total" == 2 ]] || ks_fail "PODS column sums to $total, want 2: $out"
out=$("$RECONCILE" get cm -n shop -l app=web --state-dir "$state")
grep -q web-config <<<"$out" && ! grep -q db-config <<<"$out" || ks_fail "selector: $out"
out=$("$RECONCILE" get ns --state-dir "$state")
head -1 <<<"$out" | grep -Eq '^NAME +AGE$' && grep -q '^shop ' <<<"$out" || ks_fail "get ns: $out"

ks_log "the Unix socket serves the same answers"
[[ $(noage "$("$RECONCILE" get pods -n shop --server "unix://$state/api.sock" --state-dir "$state")") == \
  $(noage "$("$RECONCILE" get pods -n shop --state-dir "$state")") ]] || ks_fail "unix socket differs"
[[ $(stat -c %a "$state/api.sock") == 600 ]] || ks_fail "api.sock mode"

ks_log "status: last sync, health, nodes, pods"
out=$("$RECONCILE" status --state-dir "$state")
commit=$(git -C "$repo" rev-parse HEAD)
grep -Eq "^Last sync: +#1 applied, commit ${commit:0:12}" <<<"$out" || ks_fail "status sync: $out"
grep -Eq '^Nodes: +2 ready, 0 not ready$' <<<"$out" || ks_fail "status nodes: $out"
grep -Eq '^Pods: +2 Running' <<<"$out" || ks_fail "status pods: $out"
grep -Eq '^Objects: +[0-9]+ Healthy' <<<"$out" || ks_fail "status objects: $out"
json=$("$RECONCILE" status -o json --state-dir "$state")
[[ $(jq -r '.lastSync.result' <<<"$json") == applied && $(jq -r '.nodes.ready' <<<"$json") == 2 &&
  $(jq -r '.pods.Running' <<<"$json") == 2 ]] || ks_fail "status -o json: $json"

ks_log "get events: drift events reported by a node"
drift='[{"type":"Warning","reason":"Drift","message":"container web stopped out of band, restarted","object":{"kind":"Pod","namespace":"shop","name":"web-x"}},{"type":"Normal","reason":"Registered","message":"node up","object":{"kind":"Node","name":"n1"}}]'
[[ $(node_post n1 "$tok" events "$drift") == 200 ]] || ks_fail "events refused"
out=$("$RECONCILE" get events -n shop --state-dir "$state")
head -1 <<<"$out" | grep -Eq '^NAMESPACE +TIME +TYPE +REASON +OBJECT +NODE +MESSAGE$' || ks_fail "events header: $out"
grep -Eq '^shop +[0-9T:-]+Z +Warning +Drift +Pod/web-x +n1 +container web stopped out of band, restarted$' \
  <<<"$out" || ks_fail "drift event row: $out"
[[ $(wc -l <<<"$out") -eq 2 ]] || ks_fail "events of other namespaces listed: $out"
[[ $("$RECONCILE" get ev -A -o json --state-dir "$state" | jq '.items | length') == 2 ]] ||
  ks_fail "get ev -A -o json"

ks_log "a bad commit: status shows the failed sync with file:line and the last good one"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  namespace: shop\ndata: [unclosed\n' \
  > "$repo/broken.yaml"
git -C "$repo" add -A && git -C "$repo" commit -qm "broken"
if "$RECONCILE" --once --no-local-node --repo "$repo" --state-dir "$state" >/dev/null 2>&1; then
  ks_fail "--once accepted broken YAML"
fi
out=$("$RECONCILE" status --state-dir "$state")
grep -Eq '^Last sync: +#2 failed' <<<"$out" || ks_fail "failed sync not shown: $out"
grep -Eq '^ +error: .*broken\.yaml:[0-9]+' <<<"$out" || ks_fail "no file:line in status: $out"
grep -Eq "^Last good: +#1 applied, commit ${commit:0:12}" <<<"$out" || ks_fail "last good: $out"
json=$("$RECONCILE" status -o json --state-dir "$state")
[[ $(jq -r '.lastSync.result + " " + .lastGood.result + " " + .lastGood.commit' <<<"$json") == \
  "failed applied $commit" && $(jq -r '.lastSync.error' <<<"$json") == *broken.yaml:* ]] ||
  ks_fail "status -o json after the failure: $json"

ks_log "errors: wrong token, no server, unknown object, bad flags"
expect_error() { # WHAT PATTERN CMD...
  local what=$1 pat=$2 err rc
  shift 2
  set +e
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  set -e
  [[ $rc -eq 1 ]] || ks_fail "$what: exit $rc, want 1 ($err)"
  [[ $(wc -l <<<"$err") -eq 1 && "$err" == "reconcile: "* && "$err" == *$pat* ]] ||
    ks_fail "$what: want one 'reconcile:' line with '$pat', got: $err"
}
expect_error "wrong token" "refused the token" "$RECONCILE" get pods --state-dir "$state" --token "$tok"
KEELSON_TOKEN=nope expect_error "wrong token from the environment" "401" \
  "$RECONCILE" status --state-dir "$state"
port=$(ks_free_port)
expect_error "no server" "is the control plane running" \
  "$RECONCILE" get pods --server "http://127.0.0.1:$port" --state-dir "$state"
expect_error "no api.url" "no server" "$RECONCILE" status --state-dir "$work/empty"
expect_error "unknown pod" "not found" "$RECONCILE" get pod nope -n shop --state-dir "$state"
expect_error "bad output" "-o" "$RECONCILE" get pods -o wide --state-dir "$state"
expect_error "no kind" "which kind" "$RECONCILE" get --state-dir "$state"
expect_error "token without create" "token create" "$RECONCILE" token n1 --state-dir "$state"
ks_log "ok"
