#!/bin/bash
# tests/bench/once/run.sh: benchmark of `reconcile --once` (issue "Git source,
# desired state, store and plan"). A generated repository holds 2,000 objects:
# 1,700 plain YAML objects in 100 files and 100 Releases of the `helm create`
# chart (3 objects each). Measured: a cold `--once --dry-run` (fresh state
# dir), a warm no-op pass, and a pass applying a one-line change; peak memory.
# Peers in the same run: the real `helm template` rendering the same 100
# releases (one process per release, as a script would) and `git archive`
# reading the same tree. Prints times, memory and ratios; never fails on a
# timing. Usage: tests/bench/once/run.sh [BUILD_DIR]   (HELM=/path/to/helm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=${1:-$src/build}
reconcile="$build/reconciler/reconcile"
measure="$src/tests/bench/lib/measure.py"
chart_src="$src/../shared/conformance/helm/helm-create-default/chart"
helm=${HELM:-/tmp/helmlayer/helm/helm}
[ -x "$reconcile" ] || { echo "build first: $reconcile missing" >&2; exit 1; }
[ -d "$chart_src" ] || { echo "missing $chart_src" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-bench-once.XXXXXX")
trap 'rm -rf "$work"' EXIT
repo=$work/repo
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@localhost GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@localhost
git init -q -b main "$repo"
mkdir -p "$repo/deploy/plain" "$repo/deploy/releases" "$repo/charts"
cp -r "$chart_src" "$repo/charts/app"
for ((f = 0; f < 100; f++)); do
  for ((i = 0; i < 17; i++)); do
    n=$((f * 17 + i))
    if ((i % 2)); then
      printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: bench\n  labels: {app: a%d}\ndata:\n  key: "value %d"\n  other: "%d"\n---\n' $n $f $n $i
    else
      printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-%d\n  namespace: bench\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web-%d}\n  template:\n    metadata:\n      labels: {app: web-%d}\n    spec:\n      containers:\n        - name: web\n          image: busybox:%d\n          args: ["sleep", "3600"]\n          resources: {requests: {cpu: 10m, memory: 16Mi}}\n---\n' $n $n $n $f
    fi
  done > "$repo/deploy/plain/file-$f.yaml"
  printf 'apiVersion: keelson.io/v1\nkind: Release\nmetadata:\n  name: rel-%d\n  namespace: bench\nspec:\n  chart: charts/app\n  values:\n    replicaCount: %d\n' $f $((f % 3 + 1)) \
    > "$repo/deploy/releases/rel-$f.yaml"
done
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench\n' > "$repo/deploy/ns.yaml"
git -C "$repo" add -A && git -C "$repo" commit -qm "bench set"
state=$work/state
run() { "$reconcile" --once --no-local-node --no-writeback --repo "$repo" --path deploy --state-dir "$state" "$@"; }
objects=$(run --dry-run -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["create"])' || true)
echo "repository: $objects objects ($(find "$repo/deploy" -name '*.yaml' | wc -l) files, 100 Releases of charts/app)"

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }
cold=$(python3 "$measure" --runs 5 --setup "rm -rf '$state'" --expect-exit 2 -- \
  "$reconcile" --once --dry-run --repo "$repo" --path deploy --state-dir "$state")
run >/dev/null
warm=$(python3 "$measure" --runs 10 -- "$reconcile" --once --no-local-node --no-writeback --repo "$repo" --path deploy --state-dir "$state")
cat > "$work/bump.sh" <<BUMP
#!/bin/bash
set -e
f=$repo/deploy/plain/file-7.yaml
n=\$(grep -o 'other: "[0-9]*"' "\$f" | head -1 | grep -o '[0-9]*')
sed -i "0,/other: \"\$n\"/s//other: \"\$((n + 1))\"/" "\$f"
git -C "$repo" commit -qam bump
BUMP
chmod +x "$work/bump.sh"
change=$(python3 "$measure" --runs 5 --setup "$work/bump.sh" -- \
  "$reconcile" --once --no-local-node --no-writeback --repo "$repo" --path deploy --state-dir "$state")

gitpeer=$(python3 "$measure" --runs 5 -- git -C "$repo" archive --format=tar HEAD deploy charts)
printf '%-36s %10s %12s\n' case median_ms max_rss_kb
for c in cold warm change gitpeer; do
  printf '%-36s %10s %12s\n' "$c" "$(field "${!c}" median_ms)" "$(field "${!c}" max_rss_kb)"
done
if [ -x "$helm" ]; then
  cat > "$work/helm100.sh" <<H
#!/bin/bash
for ((i = 0; i < 100; i++)); do "$helm" template rel-\$i "$repo/charts/app" --set replicaCount=\$((i % 3 + 1)) >/dev/null || exit 1; done
H
  chmod +x "$work/helm100.sh"
  helmpeer=$(python3 "$measure" --runs 3 -- "$work/helm100.sh")
  printf '%-36s %10s %12s\n' "helm template x100 (peer)" "$(field "$helmpeer" median_ms)" "$(field "$helmpeer" max_rss_kb)"
  python3 - "$cold" "$helmpeer" <<'PY'
import json, sys
cold, helm = (json.loads(x) for x in sys.argv[1:])
print(f"ratio: helm template x100 / reconcile cold dry-run (2,000 objects incl. the same 100 releases) = "
      f"{helm['median_ms'] / cold['median_ms']:.1f}x")
PY
else
  echo "helm peer skipped: no helm at $helm (set HELM=/path/to/helm; see shared/conformance/helm/README.md)"
fi
python3 - "$cold" "$warm" "$change" <<'PY'
import json, sys
cold, warm, change = (json.loads(x) for x in sys.argv[1:])
print(f"targets: warm no-op {warm['median_ms']} ms (< 50), one-line change {change['median_ms']} ms (< 150), "
      f"cold {cold['median_ms']} ms (< 1000), peak {max(c['max_rss_kb'] for c in (cold, warm, change)) / 1024:.1f} MB (< 100)")
PY
