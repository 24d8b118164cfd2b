#!/bin/bash
# test_dashboard_static.sh: `reconcile dashboard --repo R --out DIR` as CI
# would run it on a plain clone: a deploy branch with commits and a status
# branch with sync and drift commits (trailers and files as writeback
# writes them), exported, then opened in headless Chromium: the DOM shows
# the current sync, the objects with health, the node, the drift and the
# timeline; the per-commit page shows the plan; no console message; repo
# text is escaped; screenshots are kept under test-artifacts/.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
source "$KS_SOURCE_DIR/tests/e2e/lib/chromium.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-dash.XXXXXX")
ks_on_exit rm -rf "$work"
ks_git_identity
artifacts="$KS_BUILD_DIR/test-artifacts"
mkdir -p "$artifacts"

repo="$work/origin"
git init -q -b main "$repo"
cd "$repo"
cat > web.yaml <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {a: "1"}
YAML
git add web.yaml
GIT_AUTHOR_NAME="Grace Hopper" git commit -q -m "web: first config"
A=$(git rev-parse HEAD)
sed -i 's/"1"/"2"/' web.yaml
GIT_AUTHOR_NAME="Linus <Torvalds>" git commit -q -am 'web: bump <b>a</b> to 2'
B=$(git rev-parse HEAD)

git checkout -q --orphan keelson/status
git rm -q -rf --cached .
rm -f web.yaml
printf 'source: %s\nresult: ok\nsummary: {created: 1}\n' "$A" > sync.yaml
git add sync.yaml
git commit -q -m "sync ${A:0:7}: applied 1 created" -m "Keelson-Source: $A
Keelson-Event: sync"
mkdir -p drift/default
printf 'what: container-stopped\nnode: node-a\naction: restarted\n' > drift/default/web-1.yaml
git add drift
git commit -q -m "drift: default/web-1 container web stopped out of band on node-a, restarted" \
  -m "Keelson-Source: $A
Keelson-Event: drift
Keelson-Object: Pod/default/web-1"
printf 'source: %s\nresult: ok\nsummary: {updated: 1}\n' "$B" > sync.yaml
mkdir -p status/default/ConfigMap nodes
printf 'health: Healthy\nreason: ""\n' > status/default/ConfigMap/web.yaml
printf 'name: node-a\nready: true\ncapacity: {cpu: "2", memory: 8Gi}\npods: [web-1]\n' > nodes/node-a.yaml
git add -A
git commit -q -m "sync ${B:0:7}: applied 1 updated" -m "Keelson-Source: $B
Keelson-Event: sync"
git checkout -q main

# A plain clone: the status branch is only origin/keelson/status there.
git clone -q "$repo" "$work/clone"
out="$work/site"
"$RECONCILE" dashboard --repo "$work/clone" --out "$out" --state-dir "$work/state" > "$work/out.txt" \
  || ks_fail "reconcile dashboard failed: $(cat "$work/out.txt")"
grep -q "2 deploy commits, 3 status events" "$work/out.txt" || ks_fail "unexpected summary: $(cat "$work/out.txt")"
for f in index.html data.json style.css app.js "commits/$A.html" "commits/$B.html"; do
  [[ -s "$out/$f" ]] || ks_fail "missing $f in the export"
done

ks_chromium_run "$work/index" "file://$out/index.html"
dom="$work/index.dom"
for want in "Current sync" "node-a" "h-healthy" "container web stopped out of band on node-a" \
  "Commit to running" "Drift events per day" "Grace Hopper" "${B:0:7}" \
  "web: bump &lt;b&gt;a&lt;/b&gt; to 2"; do
  grep -qF -- "$want" "$dom" || ks_fail "index.html: \"$want\" not in the DOM"
done
grep -q "<b>a</b>" "$dom" && ks_fail "index.html: commit subject was not escaped"
ks_chromium_run "$work/commit" "file://$out/commits/$B.html"
grep -qF "What this commit produced" "$work/commit.dom" || ks_fail "commit page lacks the plan section"
grep -qF "updated" "$work/commit.dom" || ks_fail "commit page lacks the sync summary"
grep -qF "No sync of this commit" "$work/commit.dom" && ks_fail "commit page does not find its sync"

# Without JavaScript: every table is in the HTML as served (the script only
# adds filtering). (Headless Chromium takes no screenshot with scripts off.)
for want in '<table id="t-obj">' '<table id="t-tl">' "node-a" "Current sync"; do
  grep -qF -- "$want" "$out/index.html" || ks_fail "index.html without scripts lacks \"$want\""
done

ks_chromium_screenshot "$artifacts/dashboard-static.png" "file://$out/index.html"
ks_chromium_screenshot "$artifacts/dashboard-static-commit.png" "file://$out/commits/$B.html"
ks_log "static dashboard ok; screenshots in $artifacts"
