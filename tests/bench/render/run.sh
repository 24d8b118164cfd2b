#!/bin/bash
# tests/bench/render/run.sh: `reconcile render` against the real `helm
# template` (issue "Renderer"). Three workloads, wall time (median) and peak
# memory side by side, with ratios:
#  (a) the `helm create` chart (shared conformance material), one render;
#  (b) a generated 50-template chart whose templates go through nested
#      `include` chains (8 levels) and toYaml/tpl, one render;
#  (c) 200 releases of the `helm create` chart: ours in ONE process
#      (`reconcile render --repeat 200`), helm as 200 processes (a script
#      rendering 200 releases has no other way).
# helm is found through $HELM (default /tmp/helmlayer/helm/helm); without it
# only our numbers are printed, with a note. Never fails on a timing.
# `reconcile` is the small front binary (docs/ARCHITECTURE.md, "Binaries");
# when the build has reconcile-cp (the full control-plane binary, which also
# serves `render`), the same workloads are measured through it in the same
# run: that is what `reconcile render` cost before the split. FULL=0 skips it.
# RENDER_ONLY=BINARY also measures another binary whose main is `reconcile
# render`, the same way.
# Then CPU time (user + system) and page faults of (a) and (b), ours and
# helm's runs interleaved (cpu.py; CPU_RUNS, default 15), with /bin/true as
# the floor of starting any process, and their wall time measured from the spawn (no GNU time in between): on a shared machine wall time is mostly
# waiting for a CPU. The load average is printed at the start and the end.
# Usage: tests/bench/render/run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=${1:-$src/build}
reconcile="$build/reconciler/reconcile"
full="$build/reconciler/reconcile-cp"
[ "${FULL:-1}" = 1 ] && [ -x "$full" ] || full=""
measure="$src/tests/bench/lib/measure.py"
create="$src/../shared/conformance/helm/helm-create-default/chart"
helm=${HELM:-/tmp/helmlayer/helm/helm}
[ -x "$reconcile" ] || { echo "build first: $reconcile missing" >&2; exit 1; }
[ -d "$create" ] || { echo "missing $create" >&2; exit 1; }
have_helm=1
if [ ! -x "$helm" ]; then
  have_helm=0
  echo "note: no helm binary at $helm (set HELM=...); printing reconcile's numbers only"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-bench-render.XXXXXX")
trap 'rm -rf "$work"' EXIT

# (b) generated chart: 50 templates, each including a chain of 8 defines
deep=$work/deep
mkdir -p "$deep/templates"
printf 'apiVersion: v2\nname: deep\nversion: 1.0.0\n' >"$deep/Chart.yaml"
{
  echo 'labels:'
  for ((i = 0; i < 20; i++)); do echo "  key$i: value-$i"; done
  echo 'items:'
  for ((i = 0; i < 20; i++)); do echo "  - {name: item$i, port: $((8000 + i))}"; done
  echo 'greeting: "hello {{ .Release.Name }}"'
} >"$deep/values.yaml"
{
  echo '{{- define "deep.l0" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}'
  for ((l = 1; l < 8; l++)); do
    echo "{{- define \"deep.l$l\" -}}{{ include \"deep.l$((l - 1))\" . | trunc 63 }}-$l{{- end -}}"
  done
  echo '{{- define "deep.labels" -}}'
  echo '{{ toYaml .Values.labels }}'
  echo 'name: {{ include "deep.l7" . }}'
  echo '{{- end -}}'
} >"$deep/templates/_helpers.tpl"
for ((t = 0; t < 50; t++)); do
  cat >"$deep/templates/t$t.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "deep.l7" . }}-$t
  labels:
    {{- include "deep.labels" . | nindent 4 }}
data:
  greeting: {{ tpl .Values.greeting . | quote }}
  {{- range \$i, \$item := .Values.items }}
  item-{{ \$i }}: {{ printf "%s:%d" \$item.name (int \$item.port) | quote }}
  {{- end }}
  all: |
    {{- toYaml .Values.items | nindent 4 }}
EOF
done

# sanity: both renderers agree on what is being measured
if [ $have_helm -eq 1 ]; then
  for c in "$create" "$deep"; do
    "$reconcile" render rel "$c" >"$work/ours.txt"
    "$helm" template rel "$c" >"$work/helm.txt"
    if ! cmp -s "$work/ours.txt" "$work/helm.txt"; then
      echo "warning: outputs differ for $c (the numbers still compare the same work)"
    fi
  done
fi

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# `reconcile render` puts its heap in a transparent huge page when the kernel
# offers them (renderer/heap.h): with THP "never" it faults ~180 more pages
thp=/sys/kernel/mm/transparent_hugepage/enabled
echo "transparent huge pages: $(cat "$thp" 2>/dev/null || echo "not available")"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.1f}x' if b else 'n/a')" "$1" "$2"; }
report() { # label ours_json helm_json
  local o_ms o_kb
  o_ms=$(field "$2" median_ms)
  o_kb=$(field "$2" max_rss_kb)
  if [ -n "$3" ]; then
    local h_ms h_kb
    h_ms=$(field "$3" median_ms)
    h_kb=$(field "$3" max_rss_kb)
    printf '%-34s reconcile %9.1f ms %8d KiB | helm %9.1f ms %8d KiB | helm/reconcile time %s, memory %s\n' \
      "$1" "$o_ms" "$o_kb" "$h_ms" "$h_kb" "$(ratio "$h_ms" "$o_ms")" "$(ratio "$h_kb" "$o_kb")"
  else
    printf '%-34s reconcile %9.1f ms %8d KiB\n' "$1" "$o_ms" "$o_kb"
  fi
}

for w in create deep; do
  chart=$create
  [ $w = deep ] && chart=$deep
  ours=$(python3 "$measure" --runs 9 -- "$reconcile" render rel "$chart")
  theirs=""
  [ $have_helm -eq 1 ] && theirs=$(python3 "$measure" --runs 9 -- "$helm" template rel "$chart")
  label="(a) helm create chart"
  [ $w = deep ] && label="(b) 50 templates, deep includes"
  report "$label" "$ours" "$theirs"
  if [ -n "$full" ]; then
    alt=$(python3 "$measure" --runs 9 -- "$full" render rel "$chart")
    report "    same, through reconcile-cp" "$alt" "$theirs"
  fi
  if [ -n "${RENDER_ONLY:-}" ]; then
    alt=$(python3 "$measure" --runs 9 -- "$RENDER_ONLY" rel "$chart")
    report "    same, RENDER_ONLY binary" "$alt" "$theirs"
  fi
done

ours=$(python3 "$measure" --runs 3 -- "$reconcile" render rel "$create" --repeat 200)
theirs=""
if [ $have_helm -eq 1 ]; then
  theirs=$(python3 "$measure" --runs 1 -- bash -c \
    'for i in $(seq 200); do "$0" template rel "$1" || exit 1; done >/dev/null' "$helm" "$create")
fi
report "(c) 200 releases (one process/200)" "$ours" "$theirs"
if [ -n "$full" ]; then
  alt=$(python3 "$measure" --runs 3 -- "$full" render rel "$create" --repeat 200)
  report "    same, through reconcile-cp" "$alt" "$theirs"
fi
if [ -n "${RENDER_ONLY:-}" ]; then
  alt=$(python3 "$measure" --runs 3 -- "$RENDER_ONLY" rel "$create" --repeat 200)
  report "    same, RENDER_ONLY binary" "$alt" "$theirs"
fi

# CPU time, ours and helm's runs interleaved in the same run
cpu="$here/cpu.py"
runs=${CPU_RUNS:-15}
js() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }
for w in create deep; do
  chart=$create
  [ $w = deep ] && chart=$deep
  label="(a) helm create chart"
  [ $w = deep ] && label="(b) 50 templates, deep includes"
  cmds=("$(js "$reconcile" render rel "$chart")" "$(js /bin/true)")
  [ $have_helm -eq 1 ] && cmds+=("$(js "$helm" template rel "$chart")")
  mapfile -t out < <(python3 "$cpu" --runs "$runs" -- "${cmds[@]}")
  o=$(field "${out[0]}" median_cpu_ms)
  ow=$(field "${out[0]}" median_wall_ms)
  printf '%-34s CPU reconcile %7.1f ms (%s faults)' "$label" "$o" "$(field "${out[0]}" median_faults)"
  if [ $have_helm -eq 1 ]; then
    h=$(field "${out[2]}" median_cpu_ms)
    printf ' | helm %7.1f ms (%s faults) | helm/reconcile CPU %s' "$h" "$(field "${out[2]}" median_faults)" \
      "$(ratio "$h" "$o")"
  fi
  printf ' | /bin/true %.1f ms (median of %d)\n' "$(field "${out[1]}" median_cpu_ms)" "$runs"
  printf '%-34s wall reconcile %6.1f ms' "" "$ow"
  if [ $have_helm -eq 1 ]; then
    hw=$(field "${out[2]}" median_wall_ms)
    printf ' | helm %7.1f ms | helm/reconcile wall %s' "$hw" "$(ratio "$hw" "$ow")"
  fi
  printf ' | /bin/true %.1f ms (spawn to wait4, no GNU time)\n' "$(field "${out[1]}" median_wall_ms)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
