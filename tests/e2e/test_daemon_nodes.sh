#!/bin/bash
# test_daemon_nodes.sh: the control plane with two real node agents, each on
# its own private Podman service (two "hosts"). A Deployment of 3 replicas
# pushed to a local git repository is spread over both nodes, running and
# ready, and every replica answers HTTP on its pod IP; an env change in Git
# replaces the pods; deleting the file removes everything it made, on both
# Podman services; one agent killed (SIGKILL) makes its node NotReady and,
# after --node-grace, its pods are recreated on the other node; the agent
# started again removes its stale pods so no duplicate remains.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"
source "$KS_SOURCE_DIR/tests/e2e/lib/manifests.sh"
ks_cluster_workspace daemon-nodes dna dnb
write_web() { ks_web_deployment "$repo/apps/web.yaml" 3 "$1"; }
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata: {a: b}\n' > "$repo/apps/keep.yaml"
git -C "$repo" add -A
git -C "$repo" commit -qm "config"

ks_node_tokens "$state" dna dnb

port=$(ks_free_port)
ks_daemon_run "$work/daemon.log" "$RECONCILE" --repo "$repo" --path apps --state-dir "$state" --listen "127.0.0.1:$port" \
  --interval 0 --no-local-node --node-monitor-grace 15s --node-grace 3s
ks_wait_for -t 20 test -s "$state/api.url" || { cat "$work/daemon.log" >&2; ks_fail "no api.url"; }
url=$(head -n1 "$state/api.url")
token=$(cat "$state/tokens/admin")

declare -A agent_pid
start_agent() { # start_agent NODE
  local n=$1
  mkdir -p "$work/agent-$n"
  "$NODEAGENT" --name "$n" --server "$url" --token-file "$state/tokens/nodes/$n" \
    --podman-socket "$(ks_podman_get "$n" SOCK)" --state-dir "$work/agent-$n" \
    --heartbeat 1s --resync 5s >>"$work/agent-$n.log" 2>&1 &
  agent_pid[$n]=$!
}
stop_agents() {
  local n
  for n in "${!agent_pid[@]}"; do
    [[ -z "${agent_pid[$n]}" ]] || { kill -TERM "${agent_pid[$n]}" 2>/dev/null; wait "${agent_pid[$n]}" || true; }
  done
}
ks_on_exit stop_agents
show_logs() {
  local f
  for f in "$work"/daemon.log "$work"/agent-*.log; do
    [[ -f "$f" ]] && { echo "---- $f"; tail -n 30 "$f"; }
  done >&2
}
fail() { show_logs; ks_fail "$@"; }
start_agent dna
start_agent dnb

api() { curl -sS --max-time 10 -H "Authorization: Bearer $token" "$@"; }
# pods_summary: one line per live pod: "name node phase ready podIP"
pods_summary() {
  api "$url/api/v1/objects/Pod" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    st = p.get("status", {})
    if st.get("phase") == "Failed":
        continue
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))
    print(p["metadata"]["name"], p["spec"].get("nodeName", "-"), st.get("phase", "-"),
          "ready" if ready else "notready", st.get("podIP", "-"))'
}
# all_ready N GREETING-less: exactly N live pods, all Running and ready
all_ready() { [[ $(pods_summary | grep -c ' Running ready ') == "$1" && $(pods_summary | wc -l) == "$1" ]]; }
running_in() { # running_in NODE: keelson containers running in NODE's Podman
  ks_podman_cli "$1" ps --filter label=io.keelson.managed=true --filter status=running --format '{{.Names}}' |
    grep -vc -- '-infra$' || true
}

node_ready() { api "$url/api/v1/objects/Node/$1" | grep -q '"True"'; }
ks_wait_for -t 60 node_ready dna || fail "dna did not register"
ks_wait_for -t 60 node_ready dnb || fail "dnb did not register"

ks_log "3 replicas spread over 2 nodes, running and ready"
write_web hello
git -C "$repo" add -A
git -C "$repo" commit -qm "web"
t0=$(ks_now_ms)
ks_wait_for -t 120 all_ready 3 || fail "not 3 ready pods: $(pods_summary)"
ks_log "ready in $(($(ks_now_ms) - t0)) ms: $(pods_summary | tr '\n' ';')"
[[ $(pods_summary | awk '{print $2}' | sort -u | wc -l) == 2 ]] || fail "pods not spread: $(pods_summary)"
for ip in $(pods_summary | awk '{print $5}'); do
  [[ $(curl -sS --max-time 5 "http://$ip:8080/") == hello ]] || fail "replica $ip does not answer hello"
done

ks_log "an env change in Git replaces the pods"
old=$(pods_summary | awk '{print $1}' | sort)
write_web bonjour
git -C "$repo" commit -qam "bonjour"
replaced() { all_ready 3 && [[ -z $(comm -12 <(pods_summary | awk '{print $1}' | sort) <(printf '%s\n' "$old")) ]]; }
ks_wait_for -t 120 replaced ||
  fail "pods not replaced: $(pods_summary)"
for ip in $(pods_summary | awk '{print $5}'); do
  [[ $(curl -sS --max-time 5 "http://$ip:8080/") == bonjour ]] || fail "replica $ip does not answer bonjour"
done
total_running() { [[ $(($(running_in dna) + $(running_in dnb))) == "$1" ]]; }
ks_wait_for -t 60 total_running 3 ||
  fail "old containers left: dna $(running_in dna), dnb $(running_in dnb)"

ks_log "one agent killed: its node goes NotReady and its pods move to the other node"
victim=$(pods_summary | awk '{print $2}' | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
other=dna; [[ "$victim" == dna ]] && other=dnb
kill -KILL "${agent_pid[$victim]}"; wait "${agent_pid[$victim]}" 2>/dev/null || true
agent_pid[$victim]=
t0=$(ks_now_ms)
not_ready() { api "$url/api/v1/objects/Node/$1" | grep -q '"Unknown"'; }
ks_wait_for -t 60 not_ready "$victim" ||
  fail "$victim not NotReady"
all_on() { all_ready 3 && [[ $(pods_summary | awk '{print $2}' | sort -u) == "$1" ]]; }
ks_wait_for -t 120 all_on "$other" ||
  fail "pods not recreated on $other: $(pods_summary)"
ks_log "recreated on $other $(($(ks_now_ms) - t0)) ms after the kill"

ks_log "the agent comes back: its stale pods are removed, no duplicates"
start_agent "$victim"
none_in() { [[ $(running_in "$1") == 0 ]]; }
ks_wait_for -t 60 none_in "$victim" ||
  fail "stale containers left on $victim: $(running_in "$victim")"
all_ready 3 || fail "after the return: $(pods_summary)"

ks_log "deleting the file removes everything it made, on both nodes"
git -C "$repo" rm -q apps/web.yaml
git -C "$repo" commit -qm "no web"
no_pods() { [[ -z $(pods_summary) ]]; }
ks_wait_for -t 60 no_pods ||
  fail "pods left in the store: $(pods_summary)"
ks_wait_for -t 60 total_running 0 ||
  fail "containers left: dna $(running_in dna), dnb $(running_in dnb)"
ks_log "ok"
