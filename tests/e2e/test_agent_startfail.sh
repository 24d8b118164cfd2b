#!/bin/bash
# tests/e2e/test_agent_startfail.sh: the node agent on a real Podman service
# with containers that cannot start and with imagePullPolicy:
#   - restartPolicy Never and a command that does not exist: the container
#     is terminated with reason StartError (exit code 128) and the pod is
#     Failed, not Pending; the agent does not start it again;
#   - imagePullPolicy Never with a missing image: ErrImageNeverPull;
#   - imagePullPolicy IfNotPresent with the image present: Running, and the
#     agent never called Podman's pull endpoint (its debug log lists every
#     REST call);
#   - a default pod next to them runs (created with its pod, one pod start).
# No registry is reachable here, so Always is not tested.
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build tree}"
KS_TEST_NAME=agent_startfail
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

ks_agent_workspace agentsf
status() { cat "$work/report/status/default_$1.json" 2>/dev/null; }
phase_is() { [[ "$(status "$1" | jq -r .phase)" == "$2" ]]; }
reason_is() { [[ "$(status "$1" | jq -r .reason)" == "$2" ]]; }

pod() { # NAME IMAGE COMMAND EXTRA-CONTAINER-YAML EXTRA-SPEC-YAML
  cat >"$work/pods/$1.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
$5
  containers:
  - name: main
    image: $2
    command: $3
$4
YAML
}
sleeper="[sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 1; done']"
pod steady "$KS_PODMAN_IMAGE" "$sleeper" "" ""
pod nostart "$KS_PODMAN_IMAGE" "[/nonexistent]" "" "  restartPolicy: Never"
pod neverpull localhost/keelson-not-here:1 "$sleeper" "    imagePullPolicy: Never" ""
pod present "$KS_PODMAN_IMAGE" "$sleeper" "    imagePullPolicy: IfNotPresent" ""

ks_static_agent_start --log-level debug

ks_wait_for -t 60 phase_is steady Running || ks_fail "steady pod not Running: $(status steady)"
ks_wait_for -t 60 phase_is nostart Failed || ks_fail "failed start not Failed: $(status nostart)"
status nostart | jq -e '.containerStatuses[0].state.terminated |
  .reason=="StartError" and .exitCode==128 and (.message|test("nonexistent"))' >/dev/null ||
  ks_fail "failed start state: $(status nostart)"
ks_log "restartPolicy Never + failed start: Failed, StartError 128"
ks_wait_for -t 30 reason_is neverpull ErrImageNeverPull || ks_fail "never pull: $(status neverpull)"
status neverpull | jq -e '.phase=="Pending" and
  .containerStatuses[0].state.waiting.reason=="ErrImageNeverPull" and
  (.message|test("keelson-not-here.*pull policy of Never"))' >/dev/null ||
  ks_fail "never pull status: $(status neverpull)"
ks_wait_for -t 60 phase_is present Running || ks_fail "IfNotPresent pod not Running: $(status present)"
ks_log "imagePullPolicy Never: ErrImageNeverPull; IfNotPresent: Running"

# stays Failed: the agent does not try the failed start again (a resync later)
sleep 3
phase_is nostart Failed || ks_fail "failed start left Failed: $(status nostart)"
starts=$(grep -c 'request="POST /containers/[0-9a-f]*/start"' "$work/agent.log" || true)
[[ "$starts" -le 1 ]] || ks_fail "the failed container was started $starts times"
! grep -q 'request="POST /images/pull' "$work/agent.log" || ks_fail "the agent pulled an image: $(grep images/pull "$work/agent.log")"
ks_log "no image pulled, the failed container started once ($starts container start calls)"
