#!/bin/bash
# tests/bench/sim/run.sh: the control plane at scale on the simulated runtime
# (issue 7, "Benchmark"): a local Git repository of 500 Deployments x 10
# replicas (5,000 pods), one `reconcile` daemon (--no-local-node) and 100
# `nodeagent --runtime sim` agents joined with tokens from `reconcile token
# create`. Measured:
#   1. commit -> 5,000 pods Running (keelson_pods{phase="Running"} on
#      /metrics), with the times to 5,000 pods in the store and all bound;
#   2. no-change syncs (POST /api/v1/sync, answered by the record with that
#      ticket): wall time of the request, the daemon's CPU (utime+stime from
#      /proc/<pid>/stat) and the sync and controller-pass timings the daemon
#      logs at debug level (pass.c: wall and thread CPU of each pass);
#   3. the daemon's VmRSS / VmHWM;
#   4. a rolling update of all 500 (new image and template label in one
#      commit) until every Deployment reports updatedReplicas = replicas =
#      availableReplicas = 10 for its new generation and 5,000 pods run.
# Targets (issue 7): 5,000 pods Running within 10 s of the commit; a
# no-change sync under 100 ms. There is no peer (no Kubernetes here): the
# numbers are absolute. Nothing fails on a timing; the script fails only
# when the system does not converge within TIMEOUT seconds.
# Knobs: DEPLOYMENTS (500), REPLICAS (10), AGENTS (100), SIM_START_MS (200),
# TIMEOUT (600), NOCHANGE_ROUNDS (5), WRITEBACK (1: status branch on),
# ROLLING (1; 0 skips step 4),
# LOG_COPY (a path: the daemon's log is copied there at exit), PERF_DIR (a
# directory: `perf record --call-graph dwarf` of the daemon and of one agent over step 1,
# written there as daemon.data and agent.data).
# Usage: tests/bench/sim/run.sh [BUILD_DIR]   (a Release build: ci/bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
# shellcheck source=tests/bench/lib/binaries.sh
source "$src/tests/bench/lib/binaries.sh" "${1:-}"
KS_TEST_NAME=bench_sim
# shellcheck source=tests/e2e/lib/common.sh
source "$src/tests/e2e/lib/common.sh"
DEPLOYMENTS=${DEPLOYMENTS:-500}
REPLICAS=${REPLICAS:-10}
AGENTS=${AGENTS:-100}
SIM_START_MS=${SIM_START_MS:-200}
TIMEOUT=${TIMEOUT:-600}
NOCHANGE_ROUNDS=${NOCHANGE_ROUNDS:-5}
WRITEBACK=${WRITEBACK:-1}
ROLLING=${ROLLING:-1}
PODS=$((DEPLOYMENTS * REPLICAS))

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-bench-sim.XXXXXX")
ks_on_exit rm -rf "$work"
[ -z "${LOG_COPY:-}" ] || ks_on_exit cp "$work/daemon.log" "$LOG_COPY"
repo="$work/repo"
state="$work/state"
ks_git_identity
git init -q -b main "$repo"
mkdir -p "$repo/apps"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\ndata: {a: b}\n' > "$repo/apps/cm.yaml"
git -C "$repo" add -A
git -C "$repo" commit -qm start

pids=()
stop_all() { # agents first, the daemon last; every pid is ours
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
ks_on_exit stop_all

wb=()
[ "$WRITEBACK" = 1 ] || wb=(--no-writeback)
port=$(ks_free_port)
"$reconcile" --repo "$repo" --path apps --state-dir "$state" --listen "127.0.0.1:$port" \
  --interval 0 --no-local-node --allow-mass-prune --log-level debug "${wb[@]}" 2>>"$work/daemon.log" &
daemon_pid=$!
pids+=("$daemon_pid")
ks_wait_for -t 30 test -s "$state/api.url" || ks_fail "daemon did not start: $(cat "$work/daemon.log")"
url=$(head -n1 "$state/api.url")
token=$(cat "$state/tokens/admin")
api() { curl -sS -H "Authorization: Bearer $token" "$url$1"; }
metric() { # NAME{LABELS}: the value, 0 when absent
  api /metrics | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat"; }
agent_pids=()
agents_cpu_ticks() { # utime+stime of every agent, summed
  local p sum=0 t
  for p in "${agent_pids[@]}"; do
    t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    sum=$((sum + t))
  done
  echo "$sum"
}
hz=$(getconf CLK_TCK)

echo "sim benchmark: $DEPLOYMENTS Deployments x $REPLICAS replicas = $PODS pods on $AGENTS sim agents" \
  "(--sim-start-ms $SIM_START_MS), writeback $WRITEBACK; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t=$(ks_now_ms)
for ((i = 0; i < AGENTS; i++)); do
  n=$(printf 'sim-%03d' "$i")
  "$reconcile" token create "$n" --state-dir "$state" > /dev/null
  mkdir -p "$work/agent-$n"
  "$agent_bin" --name "$n" --server "$url" --token-file "$state/tokens/nodes/$n" --runtime sim \
    --sim-start-ms "$SIM_START_MS" --state-dir "$work/agent-$n" --log-level warn \
    2>>"$work/agent-$n.log" &
  pids=("$!" "${pids[@]}")
  agent_pids+=("$!")
done
nodes_ready() { [ "$(metric 'keelson_nodes{ready="true"}')" -ge "$AGENTS" ]; }
ks_wait_for -t "$TIMEOUT" -i 0.2 nodes_ready || ks_fail "not all $AGENTS nodes Ready"
echo "  $AGENTS agents registered and Ready in $(($(ks_now_ms) - t)) ms"

deployment_yaml() { # NAME IMAGE REV
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
spec:
  replicas: $REPLICAS
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1, rev: "$3"}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: $2
        command: [sh, -c, 'while true; do sleep 1; done']
YAML
}
write_all() { # IMAGE REV
  local i
  for ((i = 0; i < DEPLOYMENTS; i++)); do
    deployment_yaml "$(printf 'app-%03d' "$i")" "$1" "$2" > "$repo/apps/app-$i.yaml"
  done
}
counts() { # pods in the store, bound ones, Running ones (from /metrics)
  api /metrics | awk '
    /^keelson_objects\{kind="Pod"\}/ { store = $2 }
    /^keelson_pods\{phase=/ { total += $2 }
    /^keelson_pods\{phase="Running"\}/ { run = $2 }
    END { print store + 0, run + 0 }'
}
# Polls until PODS are Running; prints "store_ms running_ms" relative to $1.
wait_running() { # T0_MS
  local t0=$1 store_ms=-1 s r deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    read -r s r < <(counts)
    if ((store_ms < 0 && s >= PODS)); then store_ms=$(($(ks_now_ms) - t0)); fi
    if ((r >= PODS)); then
      printf '%s %s\n' "$store_ms" $(($(ks_now_ms) - t0))
      return 0
    fi
    sleep 0.1
  done
  ks_fail "only $r of $PODS pods Running after ${TIMEOUT}s (store holds $s)"
}
log_pass_stats() { # FROM_LINE: passes logged since then: count, wall and CPU ms sums and max
  tail -n "+$1" "$work/daemon.log" | awk '
    /msg="controller pass"/ {
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      n++; w += v["ms"]; c += v["cpu_ms"]; if (v["ms"] > mw) mw = v["ms"]; if (v["cpu_ms"] > mc) mc = v["cpu_ms"]
    }
    END { printf "%d passes, wall %d ms (max %d), thread CPU %d ms (max %d)", n, w, mw, c, mc }'
}

write_all localhost/keelson-busybox:latest v1
git -C "$repo" add -A
line=$(($(wc -l < "$work/daemon.log") + 1))
perf_pids=()
if [ -n "${PERF_DIR:-}" ]; then
  mkdir -p "$PERF_DIR"
  perf record -q --call-graph dwarf,16384 -F 250 -o "$PERF_DIR/daemon.data" -p "$daemon_pid" 2>/dev/null &
  perf_pids+=("$!")
  perf record -q --call-graph dwarf,16384 -F 250 -o "$PERF_DIR/agent.data" -p "${agent_pids[0]}" 2>/dev/null &
  perf_pids+=("$!")
  pids=("${perf_pids[@]}" "${pids[@]}")
  sleep 1
fi
c0=$(cpu_ticks)
a0=$(agents_cpu_ticks)
t0=$(ks_now_ms)
git -C "$repo" commit -qm "$DEPLOYMENTS deployments"
read -r store_ms run_ms < <(wait_running "$t0")
c1=$(cpu_ticks)
a1=$(agents_cpu_ticks)
for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
echo "  commit -> $PODS pods in the store ${store_ms} ms, -> all Running ${run_ms} ms (target 10000 ms)"
echo "    daemon CPU over it $(((c1 - c0) * 1000 / hz)) ms, $AGENTS agents' CPU $(((a1 - a0) * 1000 / hz)) ms;" \
  "$(log_pass_stats "$line")"
grep -m1 'msg="sync applied"' "$work/daemon.log" | sed 's/^/    /'
rss() { grep -E 'VmRSS|VmHWM' "/proc/$daemon_pid/status" | tr -s ' \t' ' ' | tr '\n' ' '; }
echo "  daemon memory with $PODS pods: $(rss)"

# no-change syncs: a ticket, answered by the first record with summary.ticket >= it
sleep 2
for ((r = 0; r < NOCHANGE_ROUNDS; r++)); do
  line=$(($(wc -l < "$work/daemon.log") + 1))
  c0=$(cpu_ticks)
  t0=$(ks_now_ms)
  ticket=$(curl -sS -X POST -H "Authorization: Bearer $token" "$url/api/v1/sync" | jq .ticket)
  answered() {
    api "/api/v1/syncs?limit=5" | jq -e --argjson t "$ticket" \
      '[.items[] | select(.summary.ticket >= $t and .finished != null)] | length > 0'
  }
  ks_wait_for -t 60 -i 0.01 answered || ks_fail "sync ticket $ticket not answered"
  t1=$(ks_now_ms)
  sleep 1 # the controller pass after the sync, and the heartbeats meanwhile
  c1=$(cpu_ticks)
  sync_ms=$(tail -n "+$line" "$work/daemon.log" | grep -m1 'msg="sync: nothing changed"' |
    sed -n 's/.* ms=\([0-9]*\).*/\1/p')
  echo "  no-change sync $((r + 1)): request -> record $((t1 - t0)) ms, sync itself ${sync_ms:-?} ms;" \
    "daemon CPU over the round (+1 s) $(((c1 - c0) * 1000 / hz)) ms; $(log_pass_stats "$line")"
done

# the rolling update of all of them: new image, new template label
if [ "$ROLLING" = 0 ]; then
  echo "  rolling update skipped (ROLLING=0)"
  exit 0
fi
write_all localhost/keelson-busybox:v2 v2
git -C "$repo" add -A
line=$(($(wc -l < "$work/daemon.log") + 1))
c0=$(cpu_ticks)
t0=$(ks_now_ms)
git -C "$repo" commit -qm "roll all $DEPLOYMENTS"
rolled() { # the cheap /metrics check first: the 5,000-pod list costs the daemon
  [ "$(metric 'keelson_pods{phase="Running"}')" -eq "$PODS" ] &&
  api /api/v1/objects/Deployment | jq -e --argjson n "$REPLICAS" --argjson d "$DEPLOYMENTS" '
    [.items[] | select(.status.observedGeneration == .metadata.generation and
      .status.updatedReplicas == $n and .status.replicas == $n and .status.availableReplicas == $n)]
    | length == $d' &&
    [ "$(api "/api/v1/objects/Pod?labelSelector=rev%3Dv2" | jq '[.items[] | select(.status.phase == "Running")] | length')" -ge "$PODS" ]
}
ks_wait_for -t "$TIMEOUT" -i 0.5 rolled || ks_fail "rolling update of $DEPLOYMENTS did not finish in ${TIMEOUT}s"
t1=$(ks_now_ms)
c1=$(cpu_ticks)
echo "  rolling update of $DEPLOYMENTS Deployments: commit -> all $PODS new pods Running and old ones gone" \
  "$((t1 - t0)) ms; daemon CPU $(((c1 - c0) * 1000 / hz)) ms; $(log_pass_stats "$line")"
echo "  daemon memory at the end: $(rss)"
echo "  load after: $(cut -d' ' -f1-3 /proc/loadavg)"
