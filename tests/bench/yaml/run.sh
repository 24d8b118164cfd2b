#!/bin/sh
# run.sh: YAML -> JSON benchmark, keelson's core/yaml.h against PyYAML's
# CSafeLoader (libyaml underneath, Python objects on top) on the same
# deterministic ~10 MB stream of Kubernetes manifests, in the same run.
# Both time parse + convert + json serialisation and report peak RSS.
#
# usage: tests/bench/yaml/run.sh [BUILD_DIR] [MB] [ROUNDS]
#   BUILD_DIR  where yaml-bench was built (default: build); MB default 10;
#   ROUNDS     interleaved rounds, the best of each is compared (default 3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
mb=${2:-10}
rounds=${3:-3}
bench=$build/tests/bench/yaml/yaml-bench
[ -x "$bench" ] || { echo "run.sh: $bench not found (cmake --build $build --target yaml-bench)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" --generate "$work/stream.yaml" "$mb" >/dev/null

cat >"$work/pyyaml.py" <<'PY'
import json, resource, sys, time
import yaml
data = open(sys.argv[1], "rb").read()
t0 = time.monotonic()
docs = list(yaml.load_all(data, Loader=yaml.CSafeLoader))
t1 = time.monotonic()
out = 0
for d in docs:
    out += len(json.dumps(d, separators=(",", ":")))
t2 = time.monotonic()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("impl=pyyaml-csafe positions=n/a bytes=%d docs=%d json_bytes=%d parse_s=%.3f dump_s=%.3f "
      "total_s=%.3f mb_per_s=%.2f peak_rss_kb=%d"
      % (len(data), len(docs), out, t1 - t0, t2 - t1, t2 - t0, len(data) / 1048576.0 / (t2 - t0), rss))
PY

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# The machine may be shared: run the three rounds interleaved and keep each
# implementation's best throughput (peak RSS barely moves between runs).
best() { # best LINE1 LINE2...: the line with the highest mb_per_s
    printf '%s\n' "$@" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^mb_per_s=/) { v = substr($i, 10) + 0 }
                               if (v > m) { m = v; l = $0 } } END { print l }'
}
py_runs="" on_runs="" off_runs=""
for round in $(seq "$rounds"); do
    py=$(python3 "$work/pyyaml.py" "$work/stream.yaml"); echo "round $round: $py"
    on=$("$bench" "$work/stream.yaml"); echo "round $round: $on"
    off=$("$bench" --no-positions "$work/stream.yaml"); echo "round $round: $off"
    for ks in "$on" "$off"; do
        [ "$(field "$ks" docs)" = "$(field "$py" docs)" ] || { echo "run.sh: document counts differ" >&2; exit 1; }
        [ "$(field "$ks" json_bytes)" = "$(field "$py" json_bytes)" ] || { echo "run.sh: JSON sizes differ" >&2; exit 1; }
    done
    py_runs="$py_runs
$py" on_runs="$on_runs
$on" off_runs="$off_runs
$off"
done
py=$(best "$py_runs")
echo "best: $py"
for ks in "$(best "$on_runs")" "$(best "$off_runs")"; do
    echo "best: $ks"
    awk -v a="$(field "$ks" mb_per_s)" -v b="$(field "$py" mb_per_s)" \
        -v m="$(field "$ks" peak_rss_kb)" -v n="$(field "$py" peak_rss_kb)" \
        -v p="$(field "$ks" positions)" \
        'BEGIN { printf "ratio (positions=%s): throughput keelson/pyyaml = %.2fx, peak RSS keelson/pyyaml = %.2f\n", p, a / b, m / n }'
done
