#!/bin/bash
# tests/e2e/test_agent_specdrift.sh: the node agent compares what Podman
# says a container was configured with (image, entrypoint + Cmd, env) with
# the pod's spec, on a real Podman service with static pods.
#
#  1. No false drift: a pod with a command, literal env, env from a Secret,
#     envFrom a Secret and the downward API runs through several resyncs,
#     and after an agent restart (adoption, env not resolved by this agent),
#     without a spec-changed event and with the same container id.
#  2. While the agent is stopped, the container is replaced the way a user
#     does it (podman rm -f, podman run with the same name, pod and keelson
#     labels, spec-hash included) with a changed env value, an extra
#     variable and another command. The started agent adopts it, reports a
#     spec-changed Drift with drift.found / drift.desired (found.env keeps
#     the Secret-backed entry as a secretKeyRef, never its value) and, self-
#     heal being on, replaces it with a container made from the spec.
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build tree}"
KS_TEST_NAME=agent_specdrift
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

ks_agent_workspace specdrift
img=$KS_PODMAN_IMAGE
start_agent() { ks_static_agent_start --resync 1s --log-level debug; }

status() { cat "$work/report/status/default_app.json" 2>/dev/null; }
ready() { [[ "$(status | jq -r '.conditions[]|select(.type=="Ready").status')" == True ]]; }
ctr_id() { status | jq -r '.containerStatuses[]|select(.name=="main").containerID' | sed 's,^podman://,,'; }
events() { cat "$work/report/events.ndjson" 2>/dev/null || true; }
spec_changed() { events | jq -c 'select(.reason == "Drift" and .drift.what == "spec-changed")'; }

cat >"$work/pods/objects.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: creds}
data:
  password: $(printf 'hunter2' | base64)
YAML
cat >"$work/pods/app.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: app, labels: {tier: back}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $img
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
    envFrom: [{secretRef: {name: creds}, prefix: S_}]
    env:
    - {name: MODE, value: blue}
    - {name: EMPTY}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: TIER
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}
YAML

ks_log "1. no drift while nothing changes, also after the agent's restart"
start_agent
ks_wait_for -t 60 ready || ks_fail "app never became Ready: $(status)"
id1=$(ctr_id)
sleep 4 # four resyncs
[[ -z $(spec_changed) ]] || ks_fail "false drift: $(spec_changed)"
[[ $(ctr_id) == "$id1" ]] || ks_fail "the container was replaced: $(ctr_id) instead of $id1"
ks_static_agent_stop || true
start_agent
adopted() { grep -q "container adopted.*container=main" "$work/agent.log"; }
ks_wait_for -t 30 adopted || ks_fail "the restarted agent did not adopt the container"
sleep 4
[[ -z $(spec_changed) ]] || ks_fail "false drift after adoption: $(spec_changed)"
[[ $(ctr_id) == "$id1" ]] || ks_fail "the adopted container was replaced"
[[ $(ks_podman_cli "$node" container inspect --format '{{.Id}}' default_app_main) == "$id1" ]] ||
  ks_fail "container id changed in Podman"

ks_log "2. replaced out of band while the agent is stopped: drift found/desired, healed"
ks_static_agent_stop || true
args=()
while IFS= read -r l; do args+=(--label "$l"); done < <(
  ks_podman_cli "$node" container inspect default_app_main | jq -r '.[0].Config.Labels | to_entries[] | "\(.key)=\(.value)"')
while IFS= read -r e; do
  case "$e" in
  MODE=*) args+=(--env MODE=green) ;;
  PATH=* | TERM=* | container=* | HOSTNAME=* | HOME=*) ;;
  *) args+=(--env "$e") ;;
  esac
done < <(ks_podman_cli "$node" container inspect default_app_main | jq -r '.[0].Config.Env[]')
args+=(--env DEBUG=1)
ks_podman_cli "$node" rm -f -t 0 default_app_main >/dev/null
ks_podman_cli "$node" run -d --pod default_app --name default_app_main "${args[@]}" "$img" \
  sh -c 'trap "exit 0" TERM; while true; do sleep 3; done' >/dev/null || ks_fail "podman run failed"
id2=$(ks_podman_cli "$node" container inspect --format '{{.Id}}' default_app_main)
t0=$(ks_now_ms)
start_agent
ks_wait_for -t 30 bash -c "[[ -n \$(cat '$work/report/events.ndjson' | jq -c 'select(.drift.what == \"spec-changed\")') ]]" ||
  ks_fail "no spec-changed drift: $(events)"
ks_log "drift reported $(($(ks_now_ms) - t0)) ms after the agent started"
ev=$(spec_changed | head -1)
[[ $(spec_changed | wc -l) == 1 ]] || ks_fail "more than one spec-changed event: $(spec_changed)"
jq -e '.drift.action == "recreated" and .drift.container == "main"' <<<"$ev" >/dev/null || ks_fail "event: $ev"
jq -e '.drift.found.command == ["sh", "-c", "trap \"exit 0\" TERM; while true; do sleep 3; done"]' <<<"$ev" >/dev/null ||
  ks_fail "found.command: $ev"
jq -e '.drift.desired.command == ["sh", "-c", "trap \"exit 0\" TERM; while true; do sleep 1; done"]' <<<"$ev" >/dev/null ||
  ks_fail "desired.command: $ev"
jq -e '.drift.found | has("image") | not' <<<"$ev" >/dev/null || ks_fail "the same image was reported: $ev"
want_env='[{"name":"MODE","value":"green"},{"name":"EMPTY"},
  {"name":"PASSWORD","valueFrom":{"secretKeyRef":{"name":"creds","key":"password"}}},
  {"name":"POD_IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}},
  {"name":"TIER","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['"'"'tier'"'"']"}}},
  {"name":"DEBUG","value":"1"}]'
jq -e --argjson w "$want_env" '.drift.found.env == $w' <<<"$ev" >/dev/null || ks_fail "found.env: $(jq -c .drift.found.env <<<"$ev")"
jq -e '.drift.desired.env | length == 5' <<<"$ev" >/dev/null || ks_fail "desired.env: $ev"
! grep -q hunter2 <<<"$ev" || ks_fail "the Secret's value is in the event: $ev"
jq -e '.message | test("env MODE=green instead of blue") and test("env DEBUG=1 added")' <<<"$ev" >/dev/null ||
  ks_fail "message: $ev"
healed() {
  local id
  id=$(ks_podman_cli "$node" container inspect --format '{{.Id}} {{.State.Status}}' default_app_main 2>/dev/null) || return 1
  [[ "$id" != "$id2 "* && "$id" == *" running" ]]
}
ks_wait_for -t 30 healed || ks_fail "the replacement was not replaced"
env_now=$(ks_podman_cli "$node" container inspect default_app_main | jq -r '.[0].Config.Env[]')
grep -qx MODE=blue <<<"$env_now" || ks_fail "healed env: $env_now"
! grep -q '^DEBUG=' <<<"$env_now" || ks_fail "healed env keeps DEBUG: $env_now"
ks_wait_for -t 30 ready || ks_fail "app not Ready after the heal: $(status)"
sleep 3
[[ $(spec_changed | wc -l) == 1 ]] || ks_fail "drift reported again after the heal: $(spec_changed)"
ks_log "ok"
