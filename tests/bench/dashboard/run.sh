#!/bin/bash
# tests/bench/dashboard/run.sh BUILD_DIR: the static dashboard export of a
# repository whose status branch has 10,000 commits (issue 8's benchmark:
# under 5 s, page size under 2 MB). The history is made with
# `git fast-import`: 200 deploy commits on main and 10,000 status commits
# (syncs for each deploy, health changes, drift every 7th commit) with the
# writeback's trailers and files. Prints wall time, peak RSS and the size
# of index.html and of the whole export; exits 0 whatever the numbers.
set -euo pipefail
build="${1:?usage: run.sh BUILD_DIR}"
reconcile="$build/reconciler/reconcile"
[ -x "$reconcile" ] || { echo "build first: $reconcile missing" >&2; exit 1; }
measure="$(cd "$(dirname "$0")/../lib" && pwd)/measure.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-bench-dash.XXXXXX")
trap 'rm -rf "$work"' EXIT
git init -q -b main "$work/repo"
# two imports: the deploy commits first, so that the status commits can
# name their real shas in Keelson-Source
python3 - "$work/deploys" <<'PY'
import sys
out = open(sys.argv[1], "w")
t0 = 1700000000
for i in range(200):
    data = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i % 20}}}\ndata: {{v: '{i}'}}\n"
    msg = f"deploy {i}: bump c{i % 20}"
    out.write(f"blob\nmark :{2 * i + 1}\ndata {len(data)}\n{data}\n")
    out.write(f"commit refs/heads/main\nmark :{2 * i + 2}\nauthor Dev <dev@example.org> {t0 + i * 3000} +0000\n"
              f"committer Dev <dev@example.org> {t0 + i * 3000} +0000\ndata {len(msg)}\n{msg}\n")
    if i:
        out.write(f"from :{2 * i}\n")
    out.write(f"M 100644 :{2 * i + 1} c{i % 20}.yaml\n\n")
PY
git -C "$work/repo" fast-import --quiet < "$work/deploys"
git -C "$work/repo" rev-list --reverse main > "$work/shas"
python3 - "$work/status" "$work/shas" <<'PY'
import sys
out = open(sys.argv[1], "w")
shas = open(sys.argv[2]).read().split()
t0 = 1700000000
mark = 0
def blob(data):
    global mark
    mark += 1
    out.write(f"blob\nmark :{mark}\ndata {len(data)}\n{data}\n")
    return mark
prev = None
for j in range(10000):
    src = shas[min(j // 50, len(shas) - 1)]
    kind = "drift" if j % 7 == 0 else ("sync" if j % 50 == 0 else "health")
    files = {}
    if kind == "sync":
        files["sync.yaml"] = f"source: {src}\nresult: ok\nsummary: {{update: 1}}\n"
        subject = f"sync {src[:7]}: applied 1 updated"
    elif kind == "drift":
        files[f"drift/default/web-{j % 10}.yaml"] = (f"what: container-stopped\nnode: n{j % 3}\n"
                                                    f"action: restarted\nhealed: true\nseq: {j}\n")
        subject = f"drift: default/web-{j % 10} container web stopped out of band on n{j % 3}, restarted"
    else:
        h = "Healthy" if j % 2 else "Progressing"
        files[f"status/default/ConfigMap/c{j % 20}.yaml"] = (f"kind: ConfigMap\nnamespace: default\n"
                                                            f"name: c{j % 20}\nhealth:\n  status: {h}\n")
        subject = f"health: ConfigMap default/c{j % 20} {h}"
    if j % 100 == 0:
        files[f"nodes/n{j % 3}.yaml"] = (f"name: n{j % 3}\nready: true\ncapacity: {{cpu: '4', memory: 8Gi}}\n"
                                        f"pods: [default/web-1]\n")
    marks = {p: blob(c) for p, c in files.items()}
    mark += 1
    msg = f"{subject}\n\nKeelson-Source: {src}\nKeelson-Event: {kind}\n"
    when = t0 + 10 + j * 60
    out.write(f"commit refs/heads/keelson/status\nmark :{mark}\nauthor keelson <k@localhost> {when} +0000\n"
              f"committer keelson <k@localhost> {when} +0000\ndata {len(msg)}\n{msg}\n")
    if prev:
        out.write(f"from :{prev}\n")
    for p, m in marks.items():
        out.write(f"M 100644 :{m} {p}\n")
    out.write("\n")
    prev = mark
PY
git -C "$work/repo" fast-import --quiet < "$work/status"
git -C "$work/repo" checkout -q main
echo "history: $(git -C "$work/repo" rev-list --count main) deploy commits, $(git -C "$work/repo" rev-list --count keelson/status) status commits"
python3 "$measure" --runs 5 -- "$reconcile" dashboard --repo "$work/repo" --out "$work/site" --state-dir "$work/state"
python3 "$measure" --runs 3 -- "$reconcile" dashboard --repo "$work/repo" --out "$work/site-all" --state-dir "$work/state" --max-commits 10000
index=$(stat -c %s "$work/site/index.html")
all=$(du -sb "$work/site" | cut -f1)
index_all=$(stat -c %s "$work/site-all/index.html")
echo "index.html: $index bytes (default --max-commits 500); whole export: $all bytes in $(find "$work/site" -type f | wc -l) files"
echo "index.html with --max-commits 10000: $index_all bytes"
echo "target: export under 5 s, page under 2 MB (2097152 bytes)"
