#!/bin/bash
# tests/e2e/test_agent_pods.sh: the node agent runs static pods on a real
# Podman service (tests/e2e/lib/podman-fixture.sh) and reports them through
# the file-backed source (--static-pods DIR --report-dir DIR).
#
# Checks: a 2-container pod sharing an emptyDir; env from a Secret; an httpd
# serving a ConfigMap file on a hostPort, fetched over loopback, and updated
# when the ConfigMap changes; a container killed out of band through the
# REST API is restored with a Drift event within 2 s; the agent stopped and
# started again adopts its pods (same container ids, no duplicates); static
# pod files added, edited and removed take effect; the downward API (env
# fieldRef/resourceFieldRef, a projected volume).
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build tree}"
KS_TEST_NAME=agent_pods
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

ks_agent_workspace agentpods
api=/$KS_PODMAN_API_VERSION/libpod
img=$KS_PODMAN_IMAGE
start_agent() { ks_static_agent_start --resync 5s --log-level debug; }
on_exit() {
  ks_static_agent_stop || true
  if [[ -n "${KS_AGENT_SHOW_LOG:-}" && -f "$work/agent.log" ]]; then
    cat "$work/agent.log" >&2
  fi
}
ks_on_exit on_exit

status() { cat "$work/report/status/default_$1.json" 2>/dev/null; }
phase_is() { [[ "$(status "$1" | jq -r .phase)" == "$2" ]]; }
ready() { [[ "$(status "$1" | jq -r '.conditions[]|select(.type=="Ready").status')" == True ]]; }
ctr_id() { status "$1" | jq -r --arg c "$2" '.containerStatuses[]|select(.name==$c).containerID' | sed 's,^podman://,,'; }
started_at() { status "$1" | jq -r --arg c "$2" '.containerStatuses[]|select(.name==$c).state.running.startedAt // empty'; }
labelled_ctrs() {
  curl -sS --unix-socket "$sock" -G "http://d$api/containers/json" --data-urlencode all=true \
    --data-urlencode "filters={\"label\":[\"io.keelson.node=$node\"]}" | jq -r '.[].Names[0]' | sort
}

port=$(ks_free_port)
cat >"$work/pods/objects.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: web-content}
data:
  index.html: "hello from a configmap v1"
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
data:
  password: $(printf 's3cret-%s' "$port" | base64)
YAML
cat >"$work/pods/web.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: httpd
    image: $img
    command: [sh, -c, 'trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait']
    ports: [{containerPort: 8080, hostPort: $port, hostIP: 127.0.0.1}]
    volumeMounts: [{name: content, mountPath: /www}]
  volumes:
  - name: content
    configMap: {name: web-content, defaultMode: 416}
YAML
cat >"$work/pods/pair.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: pair, labels: {tier: back, app: pair}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: writer
    image: $img
    command: [sh, -c, 'echo "\$PASSWORD" > /shared/pw; trap "exit 0" TERM; while true; do sleep 1; done']
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: app-secret, key: password}}
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: reader
    image: $img
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
    envFrom: [{secretRef: {name: app-secret}, prefix: S_}]
    env:
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: POD_TIER
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}
    - name: MEM_MI
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    resources: {limits: {memory: 64Mi}}
    volumeMounts: [{name: shared, mountPath: /data}, {name: info, mountPath: /etc/podinfo}]
  volumes:
  - name: shared
    emptyDir: {}
  - name: info
    projected:
      sources:
      - downwardAPI:
          items:
          - {path: labels, fieldRef: {fieldPath: metadata.labels}}
          - {path: name, fieldRef: {fieldPath: metadata.name}}
      - secret: {name: app-secret, items: [{key: password, path: pw}]}
YAML

t0=$(ks_now_ms)
start_agent
ks_wait_for -t 60 ready web || ks_fail "web never became Ready: $(status web)"
ks_wait_for -t 60 ready pair || ks_fail "pair never became Ready: $(status pair)"
ks_log "two pods Ready after $(($(ks_now_ms) - t0)) ms"
phase_is web Running || ks_fail "web phase: $(status web)"

# shared emptyDir + env from a Secret
ks_wait_for -t 10 ks_podman_cli "$node" exec default_pair_reader cat /data/pw ||
  ks_fail "reader cannot see the writer's file"
got=$(ks_podman_cli "$node" exec default_pair_reader cat /data/pw)
[[ "$got" == "s3cret-$port" ]] || ks_fail "shared file holds '$got', want s3cret-$port"
got=$(ks_podman_cli "$node" exec default_pair_reader sh -c 'echo $S_password')
[[ "$got" == "s3cret-$port" ]] || ks_fail "envFrom secret gave '$got'"

# the downward API: env from the pod's IP, a label and a limit; a projected
# volume of pod fields and a Secret key
got=$(ks_podman_cli "$node" exec default_pair_reader sh -c 'echo "$POD_IP $POD_TIER $MEM_MI"')
want="$(status pair | jq -r .podIP) back 64"
[[ "$got" == "$want" && "$got" != " "* ]] || ks_fail "downward env gave '$got', want '$want'"
got=$(ks_podman_cli "$node" exec default_pair_reader cat /etc/podinfo/labels /etc/podinfo/name /etc/podinfo/pw)
want=$(printf 'app="pair"\ntier="back"pairs3cret-%s' "$port")
[[ "$got" == "$want" ]] || ks_fail "projected volume holds '$got', want '$want'"

# configMap on a hostPort over loopback, with the file mode from defaultMode
fetch() { curl -sS --max-time 2 "http://127.0.0.1:$port/index.html"; }
ks_wait_for -t 15 fetch || ks_fail "httpd not answering on 127.0.0.1:$port"
[[ "$(fetch)" == "hello from a configmap v1" ]] || ks_fail "page: $(fetch)"
mode=$(ks_podman_cli "$node" exec default_web_httpd stat -c %a /www/index.html)
[[ "$mode" == 640 ]] || ks_fail "configMap file mode $mode, want 640"
sed -i 's/configmap v1/configmap v2/' "$work/pods/objects.yaml"
page_v2() { [[ "$(fetch)" == "hello from a configmap v2" ]]; }
ks_wait_for -t 10 page_v2 || ks_fail "configMap change not seen in the pod: $(fetch)"
ks_log "configMap update reached the pod"

# out-of-band kill through the REST API -> Drift event + restored within 2 s
before=$(started_at web httpd)
t0=$(ks_now_ms)
code=$(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X POST \
  "http://d$api/containers/default_web_httpd/kill?signal=SIGKILL")
[[ "$code" == 204 ]] || ks_fail "kill answered HTTP $code"
drift_seen() { grep -q '"what":"container-stopped"' "$work/report/events.ndjson"; }
restored() { local s; s=$(started_at web httpd); [[ -n "$s" && "$s" != "$before" ]]; }
ks_wait_for -t 2 -i 0.05 drift_seen || ks_fail "no Drift event within 2 s: $(cat "$work/report/events.ndjson" 2>/dev/null)"
ks_wait_for -t 2 -i 0.05 restored || ks_fail "container not restarted within 2 s"
ks_log "kill -> drift event and restart in $(($(ks_now_ms) - t0)) ms"
grep '"what":"container-stopped"' "$work/report/events.ndjson" | head -1 | jq -e \
  '.type=="Warning" and .reason=="Drift" and .object.name=="web" and .drift.container=="httpd" and .drift.action=="restarted"' >/dev/null ||
  ks_fail "drift event shape: $(grep Drift "$work/report/events.ndjson" | head -1)"
ks_wait_for -t 10 fetch || ks_fail "httpd not serving after the restart"

# agent restart: adoption keeps every container, nothing is duplicated
ks_wait_for -t 10 ready web || ks_fail "web not Ready again"
ids_before="$(ctr_id web httpd) $(ctr_id pair writer) $(ctr_id pair reader)"
list_before=$(labelled_ctrs)
ks_static_agent_stop || ks_fail "agent exited non-zero on SIGTERM"
[[ "$(ks_podman_cli "$node" inspect -f '{{.State.Running}}' default_web_httpd)" == true ]] ||
  ks_fail "pods must keep running when the agent stops"
rm -f "$work/report/status/"*.json
start_agent
ks_wait_for -t 30 ready web || ks_fail "web not Ready after the agent restart: $(status web)"
ks_wait_for -t 30 ready pair || ks_fail "pair not Ready after the agent restart"
ids_after="$(ctr_id web httpd) $(ctr_id pair writer) $(ctr_id pair reader)"
[[ "$ids_before" == "$ids_after" ]] || ks_fail "container ids changed: '$ids_before' -> '$ids_after'"
[[ "$(status web | jq '.containerStatuses[0].restartCount')" == 1 ]] ||
  ks_fail "restart count not kept across the agent restart: $(status web)"
[[ "$(labelled_ctrs)" == "$list_before" ]] || ks_fail "containers differ after restart: $(labelled_ctrs)"
grep -q 'container adopted' "$work/agent.log" || ks_fail "no adoption logged"
ks_log "agent restart adopted the same containers"

# static pod files: add, edit, remove
cat >"$work/pods/extra.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: extra}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: $img, command: [sh, -c, 'trap "exit 0" TERM; echo v1; while true; do sleep 1; done']}
YAML
ks_wait_for -t 30 ready extra || ks_fail "added static pod never Ready"
id1=$(ctr_id extra main)
sed -i 's/echo v1/echo v2/' "$work/pods/extra.yaml"
edited() { local id; id=$(ctr_id extra main); [[ -n "$id" && "$id" != "$id1" ]] && ready extra; }
ks_wait_for -t 30 edited || ks_fail "edited static pod not recreated: $(status extra)"
[[ "$(labelled_ctrs | grep -c default_extra_main)" == 1 ]] || ks_fail "edit left duplicates: $(labelled_ctrs)"
rm "$work/pods/extra.yaml"
gone() { ! labelled_ctrs | grep -q default_extra; }
ks_wait_for -t 30 gone || ks_fail "removed static pod still runs: $(labelled_ctrs)"
[[ "$(labelled_ctrs | grep -c default_web_httpd)" == 1 ]] || ks_fail "web disturbed"
ks_log "static pod add/edit/remove ok"

ks_static_agent_stop || ks_fail "agent exited non-zero on SIGTERM"
ks_log "PASS"
