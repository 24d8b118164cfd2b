#!/bin/bash
# tests/bench/agent/run.sh: benchmark of the node agent (issue "Node agent").
# 20 single-container pods started through `nodeagent --static-pods` vs
# `podman kube play` of the same 20 pods (POST /libpod/play/kube, the same
# thing the CLI sends) on the same private Podman service in the same run
# (tests/e2e/lib/podman-fixture.sh; needs root). Measured: total and
# per-pod time until every pod runs, the agent's resident memory (VmRSS and
# VmHWM, plus its anonymous part and PSS; the rest of the RSS is pages of
# shared libraries) and the number of shared libraries it maps, with the 20
# pods running, and ratios. Rounds alternate the two
# (ROUNDS, default 2) so neither always runs on a warmer service. Nothing
# fails on a timing. AGENT_BIN=path measures another agent binary (an older
# build, or a wrapper that execs one: the pid stays the agent's).
# Usage: tests/bench/agent/run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=${1:-$src/build}
agent_bin=${AGENT_BIN:-$build/nodeagent/nodeagent}
[ -x "$agent_bin" ] || { echo "build first: $agent_bin missing" >&2; exit 1; }
KS_TEST_NAME=bench_agent
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$src/tests/e2e/lib/podman-fixture.sh"
N=${PODS:-20}
ROUNDS=${ROUNDS:-2}

node=benchagent
ks_podman_start "$node"
ks_podman_image "$node"
sock=$(ks_podman_get "$node" SOCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-bench-agent.XXXXXX")
ks_on_exit rm -rf "$work"
api="http://d/$KS_PODMAN_API_VERSION/libpod"
agent_pid=
stop_agent() {
  [ -z "$agent_pid" ] && return 0
  kill -TERM "$agent_pid" 2>/dev/null || true
  wait "$agent_pid" || true
  agent_pid=
}
ks_on_exit stop_agent

pod_yaml() { # NAME
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Always
  containers:
  - name: main
    image: $KS_PODMAN_IMAGE
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
YAML
}
running_count() { # LABEL-FILTER: containers running with that label
  curl -sS --unix-socket "$sock" -G "$api/containers/json" \
    --data-urlencode "filters={\"label\":[\"$1\"],\"status\":[\"running\"]}" | jq length
}
remove_all_pods() {
  local ids
  ids=$(curl -sS --unix-socket "$sock" "$api/pods/json" | jq -r '.[].Id')
  for id in $ids; do
    curl -sS -o /dev/null --unix-socket "$sock" -X DELETE "$api/pods/$id?force=true"
  done
}

agent_round() {
  local pods="$work/pods" report="$work/report" state="$work/state" t0 t1 i
  rm -rf "$pods" "$report" "$state"
  mkdir -p "$pods" "$report" "$state"
  for ((i = 0; i < N; i++)); do pod_yaml "agent-$i" >"$pods/agent-$i.yaml"; done
  t0=$(ks_now_ms)
  "$agent_bin" --name "$node" --podman-socket "$sock" --static-pods "$pods" --report-dir "$report" \
    --state-dir "$state" --log-level warn 2>>"$work/agent.log" &
  agent_pid=$!
  all_running() { [ "$(running_count "io.keelson.node=$node")" -ge "$N" ]; }
  ks_wait_for -t 600 -i 0.05 all_running || ks_fail "agent: not all $N pods running"
  t1=$(ks_now_ms)
  # memory with every pod running and reported (status of all N written)
  ks_wait_for -t 60 test "$(ls "$report/status" | wc -l)" -ge "$N" || true
  sleep 1
  rss=$(awk '/VmRSS/{print $2}' "/proc/$agent_pid/status")
  hwm=$(awk '/VmHWM/{print $2}' "/proc/$agent_pid/status")
  anon=$(awk '/RssAnon/{print $2}' "/proc/$agent_pid/status")
  pss=$(awk '/^Pss:/{print $2}' "/proc/$agent_pid/smaps_rollup")
  libs=$(awk '$6 ~ /\.so/ {print $6}' "/proc/$agent_pid/maps" | sort -u | wc -l)
  stop_agent
  agent_ms+=($((t1 - t0)))
  agent_rss+=("$rss")
  agent_hwm+=("$hwm")
  agent_anon+=("$anon")
  agent_pss+=("$pss")
  agent_libs+=("$libs")
  remove_all_pods
}

kube_round() {
  local t0 t1 i code
  for ((i = 0; i < N; i++)); do pod_yaml "kube-$i"; echo '---'; done >"$work/kube.yaml"
  t0=$(ks_now_ms)
  code=$(curl -sS -o "$work/kube.out" -w '%{http_code}' --max-time 600 --unix-socket "$sock" \
    -X POST -H 'Content-Type: application/yaml' --data-binary @"$work/kube.yaml" "$api/play/kube")
  [ "$code" = 200 ] || ks_fail "kube play: HTTP $code: $(head -c 400 "$work/kube.out")"
  all_running() {
    [ "$(curl -sS --unix-socket "$sock" -G "$api/containers/json" \
      --data-urlencode 'filters={"status":["running"],"name":["kube-"]}' |
      jq '[.[]|select(.IsInfra|not)]|length')" -ge "$N" ]
  }
  ks_wait_for -t 600 -i 0.05 all_running || ks_fail "kube play: not all $N pods running"
  t1=$(ks_now_ms)
  kube_ms+=($((t1 - t0)))
  remove_all_pods
}

agent_ms=() agent_rss=() agent_hwm=() agent_anon=() agent_pss=() agent_libs=() kube_ms=()
for ((r = 0; r < ROUNDS; r++)); do
  if ((r % 2 == 0)); then kube_round; agent_round; else agent_round; kube_round; fi
  echo "round $((r + 1)): kube play ${kube_ms[-1]} ms, agent ${agent_ms[-1]} ms, agent RSS ${agent_rss[-1]} kB (peak ${agent_hwm[-1]} kB, anonymous ${agent_anon[-1]} kB, PSS ${agent_pss[-1]} kB, ${agent_libs[-1]} shared libraries mapped)"
done
python3 - "$N" "${kube_ms[*]}" "${agent_ms[*]}" "${agent_rss[*]}" "${agent_hwm[*]}" "${agent_anon[*]}" "${agent_pss[*]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
kube, agent, rss, hwm, anon, pss = ([int(x) for x in a.split()] for a in sys.argv[2:8])
k, a = statistics.median(kube), statistics.median(agent)
print(f"{'case':36} {'total_ms':>9} {'per_pod_ms':>11}")
print(f"{'podman kube play (peer)':36} {k:9.0f} {k / n:11.1f}")
print(f"{'nodeagent --static-pods':36} {a:9.0f} {a / n:11.1f}")
print(f"agent/kube-play time ratio: {a / k:.2f} (target <= 1.10)")
print(f"agent RSS with {n} pods: {max(rss)} kB (peak {max(hwm)} kB; target < 10240 kB); "
      f"anonymous {max(anon)} kB, PSS {max(pss)} kB (the rest is shared library pages)")
PY
