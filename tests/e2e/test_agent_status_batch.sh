#!/bin/bash
# test_agent_status_batch.sh: pod statuses of a `nodeagent --runtime sim`
# agent reach the real control plane (the reconcile daemon) through the
# batched status route POST /api/v1/nodes/{node}/status: a Deployment of 12
# replicas on one node runs, every pod's status in the store says Running
# with the sim's pod IP, the agent's log shows batches (none of the per-pod
# fallback), and the agent holds at most a few connections to the API
# while the pods start (one keep-alive connection each for the watch and
# the status sender, plus heartbeats). A scale-down to 4 leaves 4 Running
# pods and no failed or retried statuses. No Podman: the sim runtime.
# (The fallback to the per-pod route is tested against a server without
# the batch route by unit.nodeagent.cpclient_status.)
set -euo pipefail
: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build directory}"
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"
ks_cluster_workspace agent-status-batch # no Podman nodes: the sim runtime

source "$KS_SOURCE_DIR/tests/e2e/lib/manifests.sh"
deployment() { ks_sleeper_deployment "$repo/apps/web.yaml" "$1"; } # REPLICAS
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata: {a: b}\n' > "$repo/apps/keep.yaml"
git -C "$repo" add -A
git -C "$repo" commit -qm "config"
ks_node_tokens "$state" simb

port=$(ks_free_port)
ks_daemon_run "$work/daemon.log" "$RECONCILE" --repo "$repo" --path apps --state-dir "$state" \
  --listen "127.0.0.1:$port" --interval 0 --no-local-node
ks_wait_for -t 20 test -s "$state/api.url" || { cat "$work/daemon.log" >&2; ks_fail "no api.url"; }
url=$(head -n1 "$state/api.url")
token=$(cat "$state/tokens/admin")

agent_pid=
mkdir -p "$work/agent"
"$NODEAGENT" --name simb --server "$url" --token-file "$state/tokens/nodes/simb" --runtime sim \
  --sim-start-ms 300 --state-dir "$work/agent" --heartbeat 1s --log-level debug \
  >>"$work/agent.log" 2>&1 &
agent_pid=$!
stop_agent() { [[ -z "$agent_pid" ]] || { kill -TERM "$agent_pid" 2>/dev/null; wait "$agent_pid" || true; }; }
ks_on_exit stop_agent
fail() {
  local f
  for f in "$work/daemon.log" "$work/agent.log"; do echo "---- $f"; tail -n 40 "$f"; done >&2
  ks_fail "$@"
}

api() { curl -sS --max-time 10 -H "Authorization: Bearer $token" "$@"; }
# one line per pod: "name node phase podIP"
pods_summary() {
  api "$url/api/v1/objects/Pod" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    st = p.get("status", {})
    print(p["metadata"]["name"], p["spec"].get("nodeName", "-"), st.get("phase", "-"), st.get("podIP", "-"))'
}
running() { [[ $(pods_summary | awk '$3 == "Running" && $4 != "-"' | wc -l) == "$1" && $(pods_summary | wc -l) == "$1" ]]; }
node_ready() { api "$url/api/v1/objects/Node/simb" | grep -q '"True"'; }
ks_wait_for -t 60 node_ready || fail "simb did not register"

# connections from the agent to the API port, sampled while pods start
conns() { ss -Htnp state established "( dport = :$port )" 2>/dev/null | grep -c "pid=$agent_pid," || true; }
max_conns=0
sample() {
  local c
  c=$(conns)
  ((c > max_conns)) && max_conns=$c
  running "$1"
}

ks_log "12 replicas on the sim node: statuses arrive in batches"
deployment 12
git -C "$repo" add -A
git -C "$repo" commit -qm "web 12"
t0=$(ks_now_ms)
ks_wait_for -t 90 -i 0.2 sample 12 || fail "not 12 Running pods with a pod IP: $(pods_summary | tr '\n' ';')"
ks_log "12 Running in $(($(ks_now_ms) - t0)) ms; at most $max_conns connections from the agent"
[[ $(pods_summary | awk '{print $2}' | sort -u) == simb ]] || fail "pods not on simb: $(pods_summary)"
grep -q 'msg="status batch sent"' "$work/agent.log" || fail "no status batch in the agent's log"
! grep -q 'no batch status route' "$work/agent.log" || fail "the agent fell back to the per-pod route"
((max_conns >= 1 && max_conns <= 3)) || fail "the agent held $max_conns connections to the API (want 1..3)"

ks_log "scale down to 4: the rest go, the 4 stay Running"
deployment 4
git -C "$repo" commit -qam "web 4"
ks_wait_for -t 60 running 4 || fail "not 4 Running pods: $(pods_summary | tr '\n' ';')"
! grep -Eq 'status report failed|status refused' "$work/agent.log" || fail "failed or refused statuses: $(grep -E 'status report failed|status refused' "$work/agent.log" | head -3)"
batches=$(grep -c 'msg="status batch sent"' "$work/agent.log")
ks_log "statuses went out in $batches batches"

ks_log "the agent stops cleanly"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "the agent exited with $?"
agent_pid=
! grep -q 'pod statuses not sent' "$work/agent.log" || fail "statuses left unsent at stop"
ks_log "agent status batch: all cases passed"
