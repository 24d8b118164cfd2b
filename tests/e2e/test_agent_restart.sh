#!/bin/bash
# tests/e2e/test_agent_restart.sh: restarts the node agent runs itself, on a
# real Podman service: a crash-looping container is restarted after 10 s,
# then 20 s (CrashLoopBackOff doubling), a liveness probe failure restarts
# its container, and a readiness probe (httpGet to the pod IP) gates the
# pod's Ready condition both ways.
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build tree}"
KS_TEST_NAME=agent_restart
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

ks_agent_workspace agentrestart
mkdir -p "$work/out"
img=$KS_PODMAN_IMAGE
status() { cat "$work/report/status/default_$1.json" 2>/dev/null; }
cstat() { status "$1" | jq -r --arg c "$2" ".containerStatuses[]|select(.name==\$c)|$3"; }
ready() { [[ "$(status "$1" | jq -r '.conditions[]|select(.type=="Ready").status')" == "$2" ]]; }

cat >"$work/pods/crash.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  restartPolicy: Always
  containers:
  - name: boom
    image: $img
    command: [sh, -c, 'date +%s >> /out/starts; exit 3']
    volumeMounts: [{name: out, mountPath: /out}]
  volumes:
  - {name: out, hostPath: {path: $work/out, type: DirectoryOrCreate}}
YAML
cat >"$work/pods/live.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: $img
    command: [sh, -c, 'trap "exit 0" TERM; touch /tmp/healthy; sleep 2; rm /tmp/healthy; while true; do sleep 1; done']
    livenessProbe:
      exec: {command: [test, -f, /tmp/healthy]}
      periodSeconds: 1
      failureThreshold: 2
YAML
cat >"$work/pods/ready.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: $img
    command: [sh, -c, 'mkdir -p /www; echo ok > /www/index.html; trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /ready, port: http}
      periodSeconds: 1
      failureThreshold: 1
YAML

ks_static_agent_start --resync 5s

# readiness gates Ready: not ready until /ready answers, then ready, then not again
running() { [[ "$(cstat ready web '.state.running != null')" == true ]]; }
ks_wait_for -t 60 running || ks_fail "readiness pod never ran: $(status ready)"
sleep 2
ready ready False || ks_fail "Ready before the readiness probe passed: $(status ready)"
[[ "$(status ready | jq -r .phase)" == Running ]] || ks_fail "phase: $(status ready)"
ks_podman_cli "$node" exec default_ready_web sh -c 'echo yes > /www/ready'
ks_wait_for -t 5 ready ready True || ks_fail "readiness success did not make the pod Ready: $(status ready)"
ks_podman_cli "$node" exec default_ready_web rm /www/ready
ks_wait_for -t 5 ready ready False || ks_fail "readiness failure did not clear Ready"
ks_log "readiness gates Ready both ways"

# liveness failure restarts the container
restarted() { [[ "$(cstat live app .restartCount)" -ge 1 ]]; }
ks_wait_for -t 30 restarted || ks_fail "liveness failure did not restart the container: $(status live)"
grep -q 'probe=Liveness result=failure' "$work/agent.log" || ks_fail "no liveness failure logged"
ks_log "liveness failure restarted the container"

# CrashLoopBackOff: restarts 10 s, then 20 s apart
three() { [[ $(wc -l <"$work/out/starts") -ge 3 ]]; }
ks_wait_for -t 50 three || ks_fail "crash-looping container started $(wc -l <"$work/out/starts") times in 50 s"
mapfile -t s <"$work/out/starts"
d1=$((s[1] - s[0])) d2=$((s[2] - s[1]))
ks_log "crash loop restarts after ${d1}s then ${d2}s"
((d1 >= 9 && d1 <= 13)) || ks_fail "first back-off was ${d1}s, want about 10s"
((d2 >= 19 && d2 <= 24)) || ks_fail "second back-off was ${d2}s, want about 20s"
# The third start was just seen: the container runs a moment, exits, and
# only then waits out its 40 s back-off.
backing_off() { [[ $(cstat crash boom .state.waiting.reason) == CrashLoopBackOff ]]; }
ks_wait_for -t 10 backing_off || ks_fail "state while backing off: $(cstat crash boom .state)"
[[ "$(cstat crash boom .lastState.terminated.exitCode)" == 3 ]] || ks_fail "lastState: $(cstat crash boom .lastState)"
[[ "$(cstat crash boom .restartCount)" == 2 ]] || ks_fail "restartCount: $(cstat crash boom .restartCount)"
cstat crash boom .state.waiting.message | grep -q 'back-off 40s' || ks_fail "message: $(cstat crash boom .state.waiting.message)"

ks_static_agent_stop || ks_fail "agent exited non-zero on SIGTERM"
ks_log "PASS"
