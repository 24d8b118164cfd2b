#!/bin/bash
# test_once_plan.sh: `reconcile --once [--dry-run]` and `reconcile diff` as a
# user runs them, against real git repositories made here with git and a
# real SQLite store: first apply, a one-field change planned as exactly one
# update, deleting a file plans its deletes, broken YAML fails with
# file:line:col and changes nothing, a commit outside --path is a no-op,
# prune protection, and a PR diff between two branches.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-once.XXXXXX")
ks_on_exit rm -rf "$work"
repo="$work/repo"
state="$work/state"
ks_git_identity

git init -q -b main "$repo"
mkdir -p "$repo/apps" "$repo/docs"
cat > "$repo/apps/ns.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
YAML
cat > "$repo/apps/web.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  greeting: hello
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
          envFrom:
            - configMapRef: {name: web-config}
YAML
cat > "$repo/apps/extra.yaml" <<'YAML'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
  namespace: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: keep-me
  namespace: shop
  annotations:
    keelson.io/prune: "false"
data: {a: b}
YAML
echo "# docs" > "$repo/docs/README.md"
git -C "$repo" add -A
git -C "$repo" commit -qm "first deploy"

once() { "$RECONCILE" --once --no-local-node --repo "$repo" --path apps --state-dir "$state" "$@"; }
# objects applied from Git (controllers derive ReplicaSets and Pods beside them)
db_count() { sqlite3 "$state/state.db" "SELECT count(*) FROM objects WHERE json_extract(body, '$.metadata.annotations.\"keelson.io/source\"') IS NOT NULL"; }

ks_log "dry run on a fresh state dir plans 5 creates and exits 2"
set +e
out=$(once --dry-run -o json); rc=$?
set -e
[[ $rc -eq 2 ]] || ks_fail "dry run exit $rc, want 2: $out"
python3 - "$out" <<'PY'
import json, sys
plan = json.loads(sys.argv[1])
assert plan["summary"] == {"create": 5, "update": 0, "delete": 0, "unchanged": 0}, plan["summary"]
kinds = [c["kind"] for c in plan["changes"]]
assert kinds[0] == "Namespace", kinds        # waves: Namespace first
assert kinds[-1] == "Deployment", kinds      # workloads last
assert any("accepted, no effect" in w for w in plan["warnings"]), plan["warnings"]
PY
[[ ! -e "$state/state.db" ]] || ks_fail "--dry-run created a store"

ks_log "apply, then a second pass is in sync"
once > "$work/apply.txt" || ks_fail "apply failed: $(cat "$work/apply.txt")"
grep -q "5 to create" "$work/apply.txt" || ks_fail "unexpected apply output: $(cat "$work/apply.txt")"
[[ $(db_count) -eq 5 ]] || ks_fail "store holds $(db_count) objects, want 5"
once | ks_grep "in sync" || ks_fail "second pass not in sync"
sqlite3 "$state/state.db" "PRAGMA integrity_check" | grep -qx ok || ks_fail "integrity check"

ks_log "one field changed: exactly one update naming the field"
sed -i 's/replicas: 2/replicas: 3/' "$repo/apps/web.yaml"
git -C "$repo" commit -qam "scale web"
set +e
out=$(once --dry-run -o json); rc=$?
set -e
[[ $rc -eq 2 ]] || ks_fail "dry run exit $rc, want 2"
python3 - "$out" <<'PY'
import json, sys
plan = json.loads(sys.argv[1])
assert plan["summary"] == {"create": 0, "update": 1, "delete": 0, "unchanged": 4}, plan["summary"]
(change,) = plan["changes"]
assert change["kind"] == "Deployment" and change["name"] == "web", change
assert change["fields"] == [{"path": "spec.replicas", "old": 2, "new": 3}], change["fields"]
PY
once >/dev/null || ks_fail "applying the update failed"
rv=$(sqlite3 "$state/state.db" "SELECT json_extract(body, '$.spec.replicas') FROM objects WHERE kind='Deployment'")
[[ "$rv" == 3 ]] || ks_fail "store has replicas=$rv"

ks_log "status written by others survives an apply of a changed spec"
# status is written by controllers and agents, never by Git: stand in for them
# on a ConfigMap, which no controller rewrites
sqlite3 "$state/state.db" "UPDATE objects SET body = json_set(body, '$.status', json('{\"seen\": 2}')) WHERE kind='ConfigMap' AND name='web-config'"
sed -i 's/greeting: hello/greeting: hi/' "$repo/apps/web.yaml"
git -C "$repo" commit -qam "greeting"
once >/dev/null || ks_fail "applying the ConfigMap change failed"
seen=$(sqlite3 "$state/state.db" "SELECT json_extract(body, '$.status.seen') || json_extract(body, '$.data.greeting') FROM objects WHERE kind='ConfigMap' AND name='web-config'")
[[ "$seen" == 2hi ]] || ks_fail "applying the spec change lost the status ('$seen')"

ks_log "a commit outside --path is a no-op"
echo more >> "$repo/docs/README.md"
git -C "$repo" commit -qam "docs only"
once | ks_grep "in sync" || ks_fail "docs-only commit was not a no-op"

ks_log "broken YAML fails with file:line:col and keeps the last good state"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  labels: [unclosed\n' > "$repo/apps/bad.yaml"
git -C "$repo" add -A && git -C "$repo" commit -qm "broken"
set +e
err=$(once 2>&1 >/dev/null); rc=$?
set -e
[[ $rc -eq 1 ]] || ks_fail "broken YAML exit $rc, want 1"
[[ "$err" =~ ^reconcile:\ apps/bad\.yaml:[0-9]+:[0-9]+:\  ]] || ks_fail "error lacks file:line:col: $err"
[[ $(db_count) -eq 5 ]] || ks_fail "store changed after a failed pass"
result=$(sqlite3 "$state/state.db" "SELECT result FROM syncs ORDER BY id DESC LIMIT 1")
[[ "$result" == failed ]] || ks_fail "last sync recorded as '$result', want failed"
git -C "$repo" rm -q apps/bad.yaml && git -C "$repo" commit -qm "fix"

ks_log "duplicate identities name both files"
cp "$repo/apps/extra.yaml" "$repo/apps/extra-copy.yaml"
git -C "$repo" add -A && git -C "$repo" commit -qm "dup"
set +e
err=$(once --dry-run 2>&1 >/dev/null); rc=$?
set -e
[[ $rc -eq 1 && "$err" == *"apps/extra-copy.yaml"* && "$err" == *"apps/extra.yaml"* ]] ||
  ks_fail "duplicate not reported with both files (exit $rc): $err"
git -C "$repo" rm -q apps/extra-copy.yaml && git -C "$repo" commit -qm "undup"

ks_log "removing a file plans its deletes; prune: false is respected"
git -C "$repo" rm -q apps/extra.yaml && git -C "$repo" commit -qm "drop robot"
set +e
out=$(once --dry-run); rc=$?
set -e
[[ $rc -eq 2 && "$out" == *"- ServiceAccount shop/robot"* ]] || ks_fail "delete not planned: $out"
[[ "$out" != *"- ConfigMap shop/keep-me"* && "$out" == *"keep-me: not pruned"* ]] ||
  ks_fail "keelson.io/prune: false not respected: $out"
once >/dev/null || ks_fail "applying the delete failed"
[[ $(db_count) -eq 4 ]] || ks_fail "store holds $(db_count) objects after prune, want 4"

ks_log "deleting most objects at once needs --allow-mass-prune"
git -C "$repo" rm -q apps/web.yaml && git -C "$repo" commit -qm "drop web"
set +e
err=$(once --max-prune-share 40 2>&1); rc=$?
set -e
[[ $rc -eq 1 && "$err" == *"--allow-mass-prune"* ]] || ks_fail "mass prune not refused: $err"
[[ $(db_count) -eq 4 ]] || ks_fail "store changed after a refused prune"
once --max-prune-share 40 --allow-mass-prune >/dev/null || ks_fail "--allow-mass-prune did not apply"
[[ $(db_count) -eq 2 ]] || ks_fail "store holds $(db_count) objects, want 2"

ks_log "reconcile diff between two branches"
git -C "$repo" checkout -q -b feature
sed -i 's/name: shop/name: shop\n  labels: {team: a}/' "$repo/apps/ns.yaml"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: shop\nstringData:\n  password: hunter2\n' > "$repo/apps/secret.yaml"
git -C "$repo" add -A && git -C "$repo" commit -qm "label ns, add secret"
set +e
out=$("$RECONCILE" diff --repo "$repo" --path apps --state-dir "$state" main feature); rc=$?
md=$("$RECONCILE" diff --repo "$repo" --path apps --state-dir "$state" -o markdown main feature)
same=$("$RECONCILE" diff --repo "$repo" --path apps --state-dir "$state" main main); rc_same=$?
set -e
[[ $rc -eq 2 ]] || ks_fail "diff exit $rc, want 2"
[[ "$out" == *"+ Secret shop/creds"* && "$out" == *"~ Namespace shop"* ]] || ks_fail "diff text: $out"
[[ "$out" == *"+    team: a"* ]] || ks_fail "diff lacks the YAML hunk: $out"
[[ "$out" != *hunter2* && "$md" != *hunter2* ]] || ks_fail "secret value leaked in the diff"
[[ "$md" == *"<details>"* && "$md" == *"| create | update | delete | unchanged |"* ]] || ks_fail "markdown: $md"
[[ $rc_same -eq 0 ]] || ks_fail "diff of a revision with itself exit $rc_same, want 0: $same"
ks_log "dry-run placement explains that no node has registered yet"
git -C "$repo" checkout -q main
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\n  namespace: shop\nspec:\n  containers:\n    - name: c\n      image: localhost/keelson-busybox:latest\n' > "$repo/apps/pod.yaml"
git -C "$repo" add -A && git -C "$repo" commit -qm "a pod"
set +e
out=$(once --dry-run -o json); rc=$?
set -e
[[ $rc -eq 2 ]] || ks_fail "dry run with a pod exit $rc"
python3 - "$out" <<'PY'
import json, sys
placement = json.loads(sys.argv[1])["placement"]
assert placement["nodes"] == 0 and placement["unschedulable"] == 1, placement
(p,) = placement["placements"]
assert p["pod"] == "shop/solo" and p["message"] == "no nodes available to schedule pods", p
PY
git -C "$repo" rm -q apps/pod.yaml && git -C "$repo" commit -qm "no pod"

ks_log "Releases render charts from the repository; a chart change outside --path is seen"
mkdir -p "$repo/charts/tiny/templates"
printf 'apiVersion: v2\nname: tiny\nversion: 0.1.0\n' > "$repo/charts/tiny/Chart.yaml"
cat > "$repo/charts/tiny/templates/cm.yaml" <<'TPL'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
data:
  tag: {{ required "image.tag is required" .Values.image.tag | quote }}
TPL
cat > "$repo/apps/tiny.yaml" <<'YAML'
apiVersion: keelson.io/v1
kind: Release
metadata:
  name: tiny
  namespace: shop
spec:
  chart: charts/tiny
  values:
    image: {tag: v1}
YAML
git -C "$repo" add -A && git -C "$repo" commit -qm "tiny release"
once >/dev/null || ks_fail "applying the Release failed"
tag=$(sqlite3 "$state/state.db" "SELECT json_extract(body, '$.data.tag') FROM objects WHERE name='tiny-cfg'")
[[ "$tag" == v1 ]] || ks_fail "Release object not in the store (tag '$tag')"
sed -i 's/name: {{ .Release.Name }}-cfg/name: {{ .Release.Name }}-cfg\n  labels: {chart: tiny}/' "$repo/charts/tiny/templates/cm.yaml"
git -C "$repo" commit -qam "chart: add a label (outside --path)"
set +e
out=$(once --dry-run); rc=$?
set -e
[[ $rc -eq 2 && "$out" == *"~ ConfigMap shop/tiny-cfg"* ]] || ks_fail "chart change outside --path not planned: $out"
once >/dev/null || ks_fail "applying the chart change failed"

ks_log "a render error in one Release blocks the whole pass and prunes nothing"
before=$(db_count)
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: also\n  namespace: shop\n' > "$repo/apps/also.yaml"
sed -i 's/image: {tag: v1}/image: {}/' "$repo/apps/tiny.yaml"
git -C "$repo" add -A && git -C "$repo" commit -qm "break the release"
set +e
err=$(once 2>&1 >/dev/null); rc=$?
set -e
[[ $rc -eq 1 && "$err" == *"image.tag is required"* && "$err" == *"templates/cm.yaml"* ]] ||
  ks_fail "render error not reported with its template (exit $rc): $err"
[[ $(db_count) -eq $before ]] || ks_fail "a failed render changed the store"
[[ -z $(sqlite3 "$state/state.db" "SELECT name FROM objects WHERE name='also'") ]] ||
  ks_fail "a failed render applied part of the commit"

ks_log "reconcile diff shows rendered changes of a Release"
sed -i 's/image: {}/image: {tag: v2}/' "$repo/apps/tiny.yaml"
git -C "$repo" commit -qam "fix the release"
git -C "$repo" checkout -q -b bump
sed -i 's/tag: v2/tag: v3/' "$repo/apps/tiny.yaml"
git -C "$repo" commit -qam "bump tag"
set +e
out=$("$RECONCILE" diff --repo "$repo" --path apps --state-dir "$state" main bump); rc=$?
set -e
[[ $rc -eq 2 && "$out" == *"~ ConfigMap shop/tiny-cfg"* && "$out" == *'-  tag: v2'* && "$out" == *'+  tag: v3'* ]] ||
  ks_fail "diff of a Release change (exit $rc): $out"
ks_log "ok"
