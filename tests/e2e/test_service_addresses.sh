#!/bin/bash
# test_service_addresses.sh: Service clusterIPs and nodePorts assigned by the
# control plane (reconciler/controllers/services.c) as a user sees them:
# `reconcile --once --no-local-node` over a real git repository and SQLite
# store, `reconcile get services -o json` through a real API server
# (tests/e2e/progs/apiserver.c). Checks assignment by type (and the `get svc`
# table's TYPE, CLUSTER-IP, PORT(S)), stability across
# passes (each --once is a new process: a restart) and an edit, a dry-run
# plan that lists only the edited field, --service-cidr for new Services, a
# conflicting address in Git failing the sync with both names (nothing
# written), a deleted Service's address taken in the same commit, and a bad
# --service-cidr refused.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
ks_apiserver_workspace svcaddr

svc() { # NAME TYPE CLUSTERIP PORT [LABEL]
  printf -- '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: shop\n' "$1"
  [[ -n "${5:-}" ]] && printf '  labels: {tier: "%s"}\n' "$5"
  printf 'spec:\n  selector: {app: %s}\n' "$1"
  [[ -n "$2" ]] && printf '  type: %s\n' "$2"
  [[ -n "$3" ]] && printf '  clusterIP: "%s"\n' "$3"
  printf '  ports:\n  - port: %s\n' "$4"
}
commit() { git -C "$repo" add -A && git -C "$repo" commit -qm "$1"; }
once() { "$RECONCILE" --once --no-local-node --no-writeback --repo "$repo" --state-dir "$state" "$@"; }

git init -q -b main "$repo"
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n'
  svc web NodePort "" 80
  svc db "" "" 5432
  svc hl "" None 80
} >"$repo/shop.yaml"
commit "services"

"$APISERVER" "$state" 2>"$work/apiserver.log" &
server_pid=$!
ks_on_exit kill "$server_pid"
ks_wait_for -t 20 test -s "$state/api.url" || ks_fail "api.url not written: $(cat "$work/apiserver.log")"

get() { # NAME FIELD(jq)
  "$RECONCILE" get services -n shop -o json --state-dir "$state" |
    jq -r --arg n "$1" ".items[] | select(.metadata.name == \$n) | $2"
}

ks_log "first pass: addresses by type"
once >"$work/once.out" 2>&1 || ks_fail "--once failed: $(cat "$work/once.out")"
web_ip=$(get web .spec.clusterIP) db_ip=$(get db .spec.clusterIP)
web_np=$(get web '.spec.ports[0].nodePort')
[[ "$web_ip" =~ ^10\.96\.[0-9]+\.[0-9]+$ && "$db_ip" =~ ^10\.96\.[0-9]+\.[0-9]+$ ]] ||
  ks_fail "clusterIPs not from 10.96.0.0/16: web $web_ip db $db_ip"
[[ "$web_ip" != "$db_ip" ]] || ks_fail "web and db share $web_ip"
[[ $(get db '.spec.clusterIPs | join(",")') == "$db_ip" ]] || ks_fail "clusterIPs of db"
((web_np >= 30000 && web_np <= 32767)) || ks_fail "web nodePort $web_np"
[[ $(get db '.spec.ports[0].nodePort // "none"') == none ]] || ks_fail "db (ClusterIP) got a nodePort"
[[ $(get hl .spec.clusterIP) == None ]] || ks_fail "headless got an address"
ks_log "web $web_ip:$web_np, db $db_ip"
out=$("$RECONCILE" get svc -n shop --state-dir "$state")
head -1 <<<"$out" | grep -Eq '^NAMESPACE +NAME +TYPE +CLUSTER-IP +PORT\(S\) +AGE$' || ks_fail "svc table: $out"
grep -Eq "^shop +web +NodePort +${web_ip//./\\.} +80:$web_np/TCP " <<<"$out" || ks_fail "web row: $out"
grep -Eq '^shop +hl +ClusterIP +None +80/TCP ' <<<"$out" || ks_fail "hl row: $out"

ks_log "an edit: the dry-run plan lists only the edited field; the addresses stay"
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n'
  svc web NodePort "" 80
  svc db "" "" 5432 backend
  svc hl "" None 80
} >"$repo/shop.yaml"
commit "label db"
set +e
plan=$(once --dry-run -o json 2>"$work/plan.err"); rc=$?
set -e
[[ $rc -eq 2 ]] || ks_fail "dry-run exit $rc: $(cat "$work/plan.err")"
fields=$(jq -c '[.changes[] | select(.action == "update") | .name + ":" + (.fields[].path)]' <<<"$plan")
[[ "$fields" == '["db:metadata.labels"]' ]] || ks_fail "plan fields: $fields"
once >"$work/once.out" 2>&1 || ks_fail "--once failed: $(cat "$work/once.out")"
[[ $(get db .spec.clusterIP) == "$db_ip" && $(get web .spec.clusterIP) == "$web_ip" &&
  $(get web '.spec.ports[0].nodePort') == "$web_np" ]] || ks_fail "addresses moved after an edit"
[[ $(get db .metadata.labels.tier) == backend ]] || ks_fail "edit not applied"

ks_log "--service-cidr: a new Service gets an address of the new range; the others keep theirs"
svc cache "" "" 6379 >>"$repo/shop.yaml"
commit "cache"
once --service-cidr 10.200.0.0/24 >"$work/once.out" 2>&1 || ks_fail "--once failed: $(cat "$work/once.out")"
[[ $(get cache .spec.clusterIP) =~ ^10\.200\.0\.[0-9]+$ ]] || ks_fail "cache: $(get cache .spec.clusterIP)"
[[ $(get db .spec.clusterIP) == "$db_ip" ]] || ks_fail "db moved with the new range"

ks_log "a conflicting address in Git fails the sync naming both; nothing is written"
svc dup "" "$db_ip" 80 >>"$repo/shop.yaml"
commit "dup"
set +e
err=$(once 2>&1); rc=$?
set -e
[[ $rc -eq 1 && "$err" == *"Service shop/dup: clusterIP $db_ip is already used by Service shop/db"* ]] ||
  ks_fail "conflict not reported (exit $rc): $err"
[[ -z $(get dup .metadata.name) ]] || ks_fail "dup was written"
out=$("$RECONCILE" status --state-dir "$state")
grep -q "already used by Service shop/db" <<<"$out" || ks_fail "status lacks the conflict: $out"

ks_log "db deleted and dup takes its address in the same commit"
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n'
  svc web NodePort "" 80
  svc hl "" None 80
  svc cache "" "" 6379
  svc dup "" "$db_ip" 80
} >"$repo/shop.yaml"
commit "db goes"
once >"$work/once.out" 2>&1 || ks_fail "--once failed: $(cat "$work/once.out")"
[[ $(get dup .spec.clusterIP) == "$db_ip" && -z $(get db .metadata.name) ]] ||
  ks_fail "dup did not get $db_ip"

ks_log "a bad --service-cidr is refused before anything runs"
set +e
err=$(once --service-cidr 10.0.0.0/8 2>&1); rc=$?
set -e
[[ $rc -eq 1 && "$err" == "reconcile: --service-cidr: prefix /8: want /12 to /28" ]] ||
  ks_fail "bad range (exit $rc): $err"
ks_log "ok"
