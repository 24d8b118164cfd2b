#!/bin/bash
# test_services.sh: Services on real Podman through the real binaries (the
# `reconcile` daemon and two node agents, each on its own private Podman
# service, both on the shared "podman" bridge). From Git:
#   - a `db` Deployment behind a ClusterIP Service (port 5432 -> 8080) and a
#     `web` client pod: from inside web's container (podman exec) busybox
#     wget reaches db by its short name, db.default and the full
#     svc.cluster.local name, through the clusterIP the control plane gave;
#   - an `echo` Deployment of 2 replicas (each serving its own hostname)
#     behind a NodePort Service: both node addresses answer on the
#     nodePort (each agent binds its own loopback address with
#     --nodeport-address, as two hosts would bind theirs; both on one host,
#     so --routable-pod-network), and 20 requests
#     reach both replicas;
#   - echo scaled down to 1 in Git: the leaving replica is out of the
#     Endpoints while its container still runs (it keeps serving 20 s after
#     SIGTERM), and no request through the nodePort reaches it from then on;
#   - the Service deleted in Git: its name leaves web's /etc/hosts and the
#     nodePort stops answering.
# KS_PAUSE_ON_FAIL=SECONDS keeps everything running that long after a
# failure, to look at the pods by hand (the exit trap cleans up after).
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"
ks_cluster_workspace services sva svb

# a nodePort nothing on this machine uses (the range the control plane
# allows), on both node addresses
node_port=
for _ in $(seq 1 200); do
  p=$((30000 + RANDOM % 2768))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [[ -z $(ss -Htln "sport = :$p") ]]; then
    node_port=$p
    break
  fi
done
[[ -n "$node_port" ]] || ks_fail "no free port in 30000-32767"
declare -A node_addr=([sva]=127.0.0.2 [svb]=127.0.0.3)

# An httpd Deployment: NAME REPLICAS BODY-COMMAND (what index.html holds)
httpd_deployment() {
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
spec:
  replicas: $2
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - name: $1
          image: localhost/keelson-busybox:latest
          command: ["sh", "-c", "trap 'sleep 20; exit 0' TERM; mkdir -p /www; $3 > /www/index.html; httpd -f -p 8080 -h /www & wait"]
          ports:
            - {name: http, containerPort: 8080}
          readinessProbe:
            tcpSocket: {port: 8080}
            periodSeconds: 1
YAML
}
write_apps() { # write_apps ECHO-REPLICAS
  {
    httpd_deployment db 1 "echo db-ok"
    cat <<YAML
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  selector: {app: db}
  ports:
    - {port: 5432, targetPort: http}
YAML
  } >"$repo/apps/db.yaml"
  {
    httpd_deployment echo "$1" "hostname"
    cat <<YAML
---
apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  type: NodePort
  selector: {app: echo}
  ports:
    - {name: web, port: 80, targetPort: 8080, nodePort: $node_port}
YAML
  } >"$repo/apps/echo.yaml"
  cat >"$repo/apps/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: client
          image: localhost/keelson-busybox:latest
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
YAML
}
write_apps 2
git -C "$repo" add -A
git -C "$repo" commit -qm "db, echo, web"

ks_node_tokens "$state" sva svb
port=$(ks_free_port)
ks_daemon_run "$work/daemon.log" "$RECONCILE" --repo "$repo" --path apps --state-dir "$state" --listen "127.0.0.1:$port" \
  --interval 0 --no-local-node
ks_wait_for -t 20 test -s "$state/api.url" || { cat "$work/daemon.log" >&2; ks_fail "no api.url"; }
url=$(head -n1 "$state/api.url")
token=$(cat "$state/tokens/admin")

declare -A agent_pid
for n in sva svb; do
  mkdir -p "$work/agent-$n"
  "$NODEAGENT" --name "$n" --server "$url" --token-file "$state/tokens/nodes/$n" \
    --podman-socket "$(ks_podman_get "$n" SOCK)" --state-dir "$work/agent-$n" \
    --nodeport-address "${node_addr[$n]}" --routable-pod-network --heartbeat 1s --resync 5s >>"$work/agent-$n.log" 2>&1 &
  agent_pid[$n]=$!
done
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
    [[ -f "$f" ]] && { echo "---- $f"; grep -v 'level=debug' "$f" | tail -n 40; }
  done >&2
}
fail() { show_logs; [[ -z "${KS_PAUSE_ON_FAIL:-}" ]] || sleep "$KS_PAUSE_ON_FAIL"; ks_fail "$@"; }

api() { curl -sS --max-time 10 -H "Authorization: Bearer $token" "$@"; }
# pods_summary: "name node phase ready|notready podIP" per live pod
pods_summary() {
  api "$url/api/v1/objects/Pod" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    st = p.get("status", {})
    if st.get("phase") in ("Failed", "Succeeded"):
        continue
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))
    print(p["metadata"]["name"], p["spec"].get("nodeName", "-"), st.get("phase", "-"),
          "ready" if ready else "notready", st.get("podIP", "-"))'
}
ready_count() { pods_summary | grep -c " Running ready " || true; }
at_least_ready() { [[ $(ready_count) -ge $1 ]]; }
# endpoint_ips NAME: the ready addresses of Endpoints default/NAME, one a
# line (grep, not python: this runs in tight loops on a loaded machine)
endpoint_ips() {
  api "$url/api/v1/namespaces/default/objects/Endpoints/$1" |
    grep -o '"addresses":\[[^]]*\]' | grep -oE '"ip":"[0-9.]+"' | cut -d'"' -f4 | sort -u || true
}
endpoint_count() { [[ $(endpoint_ips "$1" | wc -l) == "$2" ]]; }
cluster_ip() {
  api "$url/api/v1/objects/Service" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["items"]:
    if s["metadata"]["name"] == sys.argv[1]:
        print(s["spec"].get("clusterIP", ""))' "$1"
}

ks_log "4 pods (db, 2 echo, web) ready over 2 nodes"
ks_wait_for -t 180 at_least_ready 4 || fail "not ready: $(pods_summary | tr '\n' ';')"
ks_log "pods: $(pods_summary | tr '\n' ';')"
ks_wait_for -t 30 endpoint_count echo 2 || fail "echo endpoints: $(endpoint_ips echo)"
db_ip=$(cluster_ip db)
[[ "$db_ip" =~ ^10\.96\. ]] || fail "db has no clusterIP from 10.96.0.0/16: '$db_ip'"

# the web client's container, on whichever node it runs
web_node=$(pods_summary | awk '$1 ~ /^web-/ {print $2}')
[[ "$web_node" == sva || "$web_node" == svb ]] || fail "web pod not placed: $(pods_summary)"
web_ctr=$(ks_podman_cli "$web_node" ps --filter label=io.keelson.container=client --format '{{.Names}}')
[[ -n "$web_ctr" ]] || fail "no client container on $web_node"
in_web() { ks_podman_cli "$web_node" exec "$web_ctr" "$@"; }

ks_log "web ($web_node) reaches db ($db_ip) by name"
fetch_db() { [[ $(in_web timeout 5 wget -q -O - "http://$1:5432/" 2>/dev/null) == db-ok ]]; }
ks_wait_for -t 30 fetch_db db || {
  in_web cat /etc/hosts >&2 || true
  fail "wget http://db:5432/ from web failed"
}
for name in db.default db.default.svc.cluster.local "$db_ip"; do
  fetch_db "$name" || fail "wget http://$name:5432/ from web failed"
done
in_web grep -q "^$db_ip	db.default.svc.cluster.local db.default.svc db.default db\$" /etc/hosts ||
  fail "hosts line for db missing: $(in_web cat /etc/hosts)"
# nothing on the host: the clusterIP lives only in the pods
host_addrs=$(ip -4 addr show)
if grep -q " $db_ip/" <<<"$host_addrs"; then
  fail "clusterIP $db_ip is on a host interface"
fi

ks_log "echo's nodePort $node_port answers on both node addresses and spreads over 2 replicas"
echo_pods=$(pods_summary | awk '$1 ~ /^echo-/ {print $1}' | sort)
hit() { curl -sS --max-time 3 "http://$1:$node_port/"; }
ks_wait_for -t 30 hit "${node_addr[sva]}" || fail "nodePort on ${node_addr[sva]} does not answer"
ks_wait_for -t 30 hit "${node_addr[svb]}" || fail "nodePort on ${node_addr[svb]} does not answer"
seen=$(for i in $(seq 1 10); do
  hit "${node_addr[sva]}"
  hit "${node_addr[svb]}"
done | sort | uniq -c)
ks_log "20 requests: $(echo "$seen" | tr '\n' ';')"
[[ $(echo "$seen" | wc -l) == 2 ]] || fail "requests did not reach both replicas: $seen"
[[ $(echo "$seen" | awk '{print $2}' | sort) == "$echo_pods" ]] ||
  fail "answers '$seen' are not the echo pods '$echo_pods'"
echo "$seen" | awk '$1 < 5 {exit 1}' || fail "uneven spread: $seen"
# the proxy's cost, for the record: 20 requests through the nodePort
# against 20 straight to a pod IP (one curl process per request)
first_ip=$(pods_summary | awk '$1 ~ /^echo-/ {print $5; exit}')
t0=$(ks_now_ms)
for i in $(seq 1 20); do hit "${node_addr[sva]}" >/dev/null; done
t1=$(ks_now_ms)
for i in $(seq 1 20); do curl -sS --max-time 3 "http://$first_ip:8080/" >/dev/null; done
t2=$(ks_now_ms)
ks_log "20 requests: $((t1 - t0)) ms through the nodePort, $((t2 - t1)) ms straight to $first_ip"

ks_log "echo scaled to 1: the leaving replica leaves the endpoints before it stops"
write_apps 1
git -C "$repo" commit -qam "echo: 1 replica"
ks_log "committed at $(date -u +%T.%N)"
ks_wait_for -t 60 endpoint_count echo 1 || fail "echo endpoints: $(endpoint_ips echo)"
t_out=$(ks_now_ms)
left_ip=$(endpoint_ips echo)
stay=$(pods_summary | awk -v ip="$left_ip" '$5 == ip {print $1}')
gone=$(printf '%s\n' $echo_pods | grep -vx "$stay")
[[ -n "$stay" && -n "$gone" ]] || fail "cannot tell replicas apart: stay '$stay' gone '$gone'"
gone_running() {
  local n
  # "stopping": SIGTERM delivered, its process still runs (and serves);
  # the listing is read whole (grep -q closing the pipe early would make
  # pipefail report the writer's SIGPIPE)
  local all n
  all=$(for n in sva svb; do ks_podman_cli "$n" ps -a --format '{{.Names}} {{.State}}'; done)
  grep -Eqix "default_${gone}_echo (running|stopping)" <<<"$all"
}
ks_log "endpoints down to $stay at $(date -u +%T.%N)"
gone_running || fail "replica $gone stopped before it left the endpoints (at $(date -u +%T.%N)): $(
  for n in sva svb; do ks_podman_cli "$n" ps -a --format '{{.Names}} {{.Status}}'; done)"
ks_log "$gone out of the endpoints, its container still running"
answers=$(for i in $(seq 1 6); do hit "${node_addr[sva]}"; hit "${node_addr[svb]}"; done | sort -u)
[[ "$answers" == "$stay" ]] || fail "requests after the scale-down reached '$answers', want only $stay"
gone_stopped() { ! gone_running; }
ks_wait_for -t 60 gone_stopped || fail "replica $gone never stopped"
ks_log "$gone stopped $(($(ks_now_ms) - t_out)) ms after it left the endpoints"

ks_log "the db Service deleted in Git: its name leaves web's hosts file"
python3 - "$repo/apps/db.yaml" <<'EOF'
import sys
p = sys.argv[1]
docs = open(p).read().split("\n---\n")
open(p, "w").write(docs[0] + "\n")
EOF
git -C "$repo" commit -qam "no db Service"
no_db_line() { ! in_web grep -q "db.default.svc.cluster.local" /etc/hosts; }
ks_wait_for -t 60 no_db_line || fail "db still in web's hosts: $(in_web cat /etc/hosts)"
in_web grep -q "echo.default.svc.cluster.local" /etc/hosts || fail "echo's line lost: $(in_web cat /etc/hosts)"
fetch_db "$db_ip" && fail "db's clusterIP still answers after the Service was deleted"

ks_log "echo's Service deleted: the nodePort closes"
rm "$repo/apps/echo.yaml"
git -C "$repo" commit -qam "no echo"
closed() { ! hit "${node_addr[sva]}" && ! hit "${node_addr[svb]}"; }
ks_wait_for -t 60 closed || fail "nodePort $node_port still answers"
ks_log "ok"
