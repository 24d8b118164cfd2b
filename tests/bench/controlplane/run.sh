#!/bin/bash
# tests/bench/controlplane/run.sh: benchmark of the control plane (issue
# "Control plane"): time from `git commit` in a local repository to every
# container running, through the whole chain (inotify -> sync -> plan ->
# apply -> scheduler -> API watch -> two nodeagents -> Podman), for 1 pod and
# for 20 pods over 2 nodes, beside `podman kube play` of the same pods
# (POST /libpod/play/kube, what the CLI sends; for 2 nodes half on each
# service, both at once). Each "node" is a private Podman service
# (tests/e2e/lib/podman-fixture.sh; needs root). Also the control plane's
# resident memory (VmRSS, VmHWM) after the runs. Rounds alternate keelson
# and kube play (ROUNDS, default 2). The clock starts before `git commit` /
# the kube play request and stops at Podman's "start" event of the last
# container (started.py on both services' event streams). Nothing fails on a
# timing.
# LOG_LEVEL (default warn) is given to the daemon and the agents; with
# LOG_DIR set their logs are copied there at the end (LOG_LEVEL=debug logs
# every stage with a millisecond timestamp: docs/cli.md, "Where the time goes").
# Usage: tests/bench/controlplane/run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
# shellcheck source=tests/bench/lib/binaries.sh
source "$src/tests/bench/lib/binaries.sh" "${1:-}"
KS_TEST_NAME=bench_controlplane
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$src/tests/e2e/lib/podman-fixture.sh"
ROUNDS=${ROUNDS:-2}
LOG_LEVEL=${LOG_LEVEL:-warn}
SIZES=${SIZES:-"1 20"}
nodes=(bcpa bcpb)
for n in "${nodes[@]}"; do
  ks_podman_start "$n"
  ks_podman_image "$n"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-bench-cp.XXXXXX")
ks_on_exit rm -rf "$work"
if [ -n "${LOG_DIR:-}" ]; then
  mkdir -p "$LOG_DIR"
  save_logs() { cp "$work"/*.log "$LOG_DIR"/ 2>/dev/null || true; }
  ks_on_exit save_logs
fi
repo="$work/repo"
state="$work/state"
api="http://d/$KS_PODMAN_API_VERSION/libpod"
ks_git_identity
git init -q -b main "$repo"
mkdir -p "$repo/pods"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\ndata: {a: b}\n' > "$repo/pods/cm.yaml"
git -C "$repo" add -A
git -C "$repo" commit -qm start
mkdir -p -m 0700 "$state/tokens/nodes"
for n in "${nodes[@]}"; do (umask 077; openssl rand -hex 32 > "$state/tokens/nodes/$n"); done

port=$(ks_free_port)
"$reconcile" --repo "$repo" --path pods --state-dir "$state" --listen "127.0.0.1:$port" \
  --interval 0 --no-local-node --allow-mass-prune --log-level "$LOG_LEVEL" 2>>"$work/daemon.log" &
daemon_pid=$!
pids=("$daemon_pid")
stop_all() { local p; for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
ks_on_exit stop_all
ks_wait_for -t 30 test -s "$state/api.url" || ks_fail "daemon did not start: $(cat "$work/daemon.log")"
url=$(head -n1 "$state/api.url")
for n in "${nodes[@]}"; do
  mkdir -p "$work/agent-$n"
  "$agent_bin" --name "$n" --server "$url" --token-file "$state/tokens/nodes/$n" \
    --podman-socket "$(ks_podman_get "$n" SOCK)" --state-dir "$work/agent-$n" --log-level "$LOG_LEVEL" \
    2>>"$work/agent-$n.log" &
  pids+=("$!")
done
token=$(cat "$state/tokens/admin")
node_ready() { curl -s -H "Authorization: Bearer $token" "$url/api/v1/objects/Node/$1" | grep -q '"True"'; }
for n in "${nodes[@]}"; do ks_wait_for -t 60 node_ready "$n" || ks_fail "node $n did not register"; done

pod_yaml() { # NAME
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $KS_PODMAN_IMAGE
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
YAML
}
running() { # FILTER VALUE: running containers matching over both services
  local total=0 n c
  for n in "${nodes[@]}"; do
    c=$(curl -sS --unix-socket "$(ks_podman_get "$n" SOCK)" -G "$api/containers/json" \
      --data-urlencode "filters={\"$1\":[\"$2\"],\"status\":[\"running\"]}" | jq length)
    total=$((total + c))
  done
  printf '%s\n' "$total"
}
at_least() { [ "$(running "$1" "$2")" -ge "$3" ]; }
none_left() { [ "$(running "$1" "$2")" -eq 0 ]; }

# The clock stops at the Podman "start" event of the last container
# (started.py follows both services' event streams), the same for both sides.
stopwatch_start() { # N PREFIX: sets sw_pid once the event streams are open
  local socks=() f
  for f in "${nodes[@]}"; do socks+=("$(ks_podman_get "$f" SOCK)"); done
  : > "$work/sw.out"
  python3 "$here/started.py" "$1" "$2" 600 "${socks[@]}" > "$work/sw.out" &
  sw_pid=$!
  ks_wait_for -t 30 -i 0.01 grep -q ready "$work/sw.out" || ks_fail "started.py did not start"
}
stopwatch_stop() { # sets t1: the wall ms at which the last container started
  wait "$sw_pid" || ks_fail "started.py: not all containers started"
  t1=$(tail -n1 "$work/sw.out")
}

keelson_round() { # N: prints ms from commit to N containers running
  local n=$1 i t0 t1
  for ((i = 0; i < n; i++)); do pod_yaml "bench-$i" > "$repo/pods/bench-$i.yaml"; done
  git -C "$repo" add -A
  stopwatch_start "$n" default_bench-
  t0=$(ks_now_ms)
  git -C "$repo" commit -qm "$n pods"
  stopwatch_stop
  printf 'keelson pods=%s commit_ms=%s started_ms=%s\n' "$n" "$t0" "$t1" >> "$work/rounds.log"
  ks_wait_for -t 60 at_least label io.keelson.container=main "$n" || ks_fail "keelson: not all $n running"
  git -C "$repo" rm -q "$repo"/pods/bench-*.yaml
  git -C "$repo" commit -qm "no pods"
  ks_wait_for -t 600 none_left label io.keelson.container=main || ks_fail "keelson: pods not removed"
  printf '%s\n' $((t1 - t0))
}

kubeplay_round() { # N: kube play of N pods, split over the services, all at once
  local n=$1 i t0 t1 f
  for f in "${nodes[@]}"; do : > "$work/play-$f.yaml"; done
  for ((i = 0; i < n; i++)); do
    f=${nodes[$((i % ${#nodes[@]}))]}
    { pod_yaml "play-$i"; echo '---'; } >> "$work/play-$f.yaml"
  done
  stopwatch_start "$n" play-
  t0=$(ks_now_ms)
  local bg=()
  for f in "${nodes[@]}"; do
    [ -s "$work/play-$f.yaml" ] || continue
    curl -sS -o "$work/play-$f.out" --unix-socket "$(ks_podman_get "$f" SOCK)" -X POST \
      -H 'Content-Type: application/x-yaml' --data-binary "@$work/play-$f.yaml" "$api/play/kube" &
    bg+=("$!")
  done
  stopwatch_stop
  printf 'kubeplay pods=%s request_ms=%s started_ms=%s\n' "$n" "$t0" "$t1" >> "$work/rounds.log"
  for i in "${bg[@]}"; do wait "$i"; done
  ks_wait_for -t 60 at_least name "^play-" "$n" || ks_fail "kube play: not all $n running"
  for f in "${nodes[@]}"; do
    curl -sS -o /dev/null --unix-socket "$(ks_podman_get "$f" SOCK)" -X DELETE \
      -H 'Content-Type: application/x-yaml' --data-binary "@$work/play-$f.yaml" "$api/play/kube" || true
  done
  ks_wait_for -t 120 none_left name "^play-" || ks_fail "kube play: pods not removed"
  printf '%s\n' $((t1 - t0))
}

echo "control plane benchmark: commit -> all containers running, 2 nodes (private Podman services)"
for n in $SIZES; do
  k_all=() p_all=()
  for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2 == 0)); then
      k_all+=("$(keelson_round "$n")"); p_all+=("$(kubeplay_round "$n")")
    else
      p_all+=("$(kubeplay_round "$n")"); k_all+=("$(keelson_round "$n")")
    fi
  done
  python3 - "$n" "${k_all[*]}" "${p_all[*]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
k = [int(x) for x in sys.argv[2].split()]
p = [int(x) for x in sys.argv[3].split()]
km, pm = statistics.median(k), statistics.median(p)
print(f"{n:>3} pods: keelson git commit -> running {km:>6.0f} ms (rounds {k}); "
      f"podman kube play {pm:>6.0f} ms (rounds {p}); ratio {km / pm:.2f}")
PY
done
rss=$(grep -E 'VmRSS|VmHWM' "/proc/$daemon_pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')
echo "reconcile (control plane) memory after the runs: $rss"
