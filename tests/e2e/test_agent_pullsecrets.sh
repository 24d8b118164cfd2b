#!/bin/bash
# tests/e2e/test_agent_pullsecrets.sh: spec.imagePullSecrets against a real
# private registry: Debian's docker-registry (distribution 2.8) run as a
# process of this test on a loopback port with htpasswd (bcrypt) auth, plain
# HTTP, listed as insecure in the Podman service's registries.conf. The
# fixture's busybox image is pushed to it with `podman push --creds`, then
# untagged locally so that every pod's image must be pulled.
#
#  - a kubernetes.io/dockerconfigjson Secret whose key is the registry with
#    a path ("127.0.0.1:PORT/team"): the pod runs; the registry logged the
#    pull as alice's
#  - a kubernetes.io/dockercfg Secret with a wrong password: ErrImagePull,
#    then ImagePullBackOff, the message carrying the registry's refusal
#  - a Secret that does not exist: the pull goes without credentials and
#    fails; the message names the missing Secret (as the kubelet's event
#    does); once the Secret is added, the pod runs
#  - a pod without imagePullSecrets: refused the same way
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build tree}"
KS_TEST_NAME=agent_pullsecrets
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

command -v docker-registry >/dev/null || ks_fail "docker-registry is not installed (ci/setup installs it)"
command -v htpasswd >/dev/null || ks_fail "htpasswd is not installed (apache2-utils, ci/setup installs it)"

regport=$(ks_free_port)
reg="127.0.0.1:$regport"
confdir=$(mktemp -d "${TMPDIR:-/tmp}/keelson-pullsecrets-conf.XXXXXX")
ks_on_exit rm -rf "$confdir"
# the Podman service below reads this (plain HTTP to the test's registry)
cat >"$confdir/registries.conf" <<EOF
[[registry]]
location = "$reg"
insecure = true
EOF
export CONTAINERS_REGISTRIES_CONF="$confdir/registries.conf"

ks_agent_workspace pullsecrets
mkdir -p "$work/registry"
img=$KS_PODMAN_IMAGE

ks_log "a private registry on $reg (htpasswd, bcrypt)"
htpasswd -Bbn alice 'open-sesame' >"$work/registry/htpasswd"
cat >"$work/registry/config.yml" <<EOF
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $work/registry/data}}
http: {addr: $reg}
auth: {htpasswd: {realm: keelson-test, path: $work/registry/htpasswd}}
EOF
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
reg_pid=$!
stop_registry() {
  kill -TERM "$reg_pid" 2>/dev/null || true
  wait "$reg_pid" 2>/dev/null || true
}
ks_on_exit stop_registry
reg_up() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$reg/v2/") == 401 ]]; }
ks_wait_for -t 20 reg_up || ks_fail "registry not answering 401 on $reg: $(tail -5 "$work/registry/log")"
[[ $(curl -s -o /dev/null -w '%{http_code}' -u alice:open-sesame "http://$reg/v2/") == 200 ]] ||
  ks_fail "registry refuses alice"
for tag in 1 2 3 4; do
  ks_podman_cli "$node" tag "$img" "$reg/team/busybox:$tag"
  ks_podman_cli "$node" push -q --tls-verify=false --creds alice:open-sesame "$reg/team/busybox:$tag" ||
    ks_fail "push of $reg/team/busybox:$tag failed"
  ks_podman_cli "$node" rmi "$reg/team/busybox:$tag" >/dev/null
done
! ks_podman_cli "$node" image exists "$reg/team/busybox:1" || ks_fail "the pushed image is still local"

start_agent() { ks_static_agent_start --resync 2s --log-level debug; }

status() { cat "$work/report/status/default_$1.json" 2>/dev/null; }
running() { [[ "$(status "$1" | jq -r '.containerStatuses[0].state | has("running")')" == true ]]; }
waiting() { status "$1" | jq -r '.containerStatuses[0].state.waiting | "\(.reason)|\(.message)"'; }
pull_failed() { [[ $(waiting "$1") == ErrImagePull\|* || $(waiting "$1") == ImagePullBackOff\|* ]]; }

good=$(printf '{"auths": {"%s/team": {"auth": "%s"}}}' "$reg" "$(printf 'alice:open-sesame' | base64 -w0)")
bad=$(printf '{"%s": {"username": "alice", "password": "wrong"}}' "$reg")
cat >"$work/pods/secrets.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: $(printf '%s' "$good" | base64 -w0)
---
apiVersion: v1
kind: Secret
metadata: {name: badcred}
type: kubernetes.io/dockercfg
data:
  .dockercfg: $(printf '%s' "$bad" | base64 -w0)
YAML
pod() { # NAME TAG SECRET|-
  cat >"$work/pods/$1.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
$([[ $3 == - ]] || printf '  imagePullSecrets: [{name: %s}]\n' "$3")
  containers:
  - name: main
    image: $reg/team/busybox:$2
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
YAML
}
pod good 1 regcred
pod wrong 2 badcred
pod missing 3 nosuch
pod none 4 -

t0=$(ks_now_ms)
start_agent
ks_wait_for -t 60 running good || ks_fail "the pod with the right secret does not run: $(status good)"
ks_log "pulled with regcred and running after $(($(ks_now_ms) - t0)) ms"
grep -q 'auth.user.name="\?alice' "$work/registry/log" || ks_fail "the registry saw no pull by alice"
ks_podman_cli "$node" image exists "$reg/team/busybox:1" || ks_fail "image :1 not pulled"

ks_wait_for -t 60 pull_failed wrong || ks_fail "wrong password: $(status wrong)"
w=$(waiting wrong)
grep -q "unauthorized" <<<"$w" || ks_fail "wrong password, message: $w"
ks_log "wrong password: $w"
ks_wait_for -t 60 pull_failed missing || ks_fail "missing secret: $(status missing)"
w=$(waiting missing)
grep -q "unauthorized" <<<"$w" || ks_fail "missing secret, message: $w"
grep -qF 'imagePullSecrets not found in namespace default: "nosuch"' <<<"$w" ||
  ks_fail "the missing secret is not named: $w"
ks_log "missing secret: $w"
ks_wait_for -t 60 pull_failed none || ks_fail "no secret: $(status none)"
grep -q "unauthorized" <<<"$(waiting none)" || ks_fail "no secret, message: $(waiting none)"
! grep -q "imagePullSecrets" <<<"$(waiting none)" || ks_fail "no secret, message: $(waiting none)"
# retried with back-off: ImagePullBackOff on a later attempt
back_off() { [[ $(waiting wrong) == ImagePullBackOff\|* ]]; }
ks_wait_for -t 60 back_off || ks_fail "no ImagePullBackOff: $(waiting wrong)"
for p in wrong missing none; do
  ! running "$p" || ks_fail "$p runs"
done

ks_log "the missing secret is added: that pod runs"
cat >>"$work/pods/secrets.yaml" <<YAML
---
apiVersion: v1
kind: Secret
metadata: {name: nosuch}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: $(printf '%s' "$good" | base64 -w0)
YAML
t0=$(ks_now_ms)
ks_wait_for -t 120 running missing || ks_fail "the pod does not run once its secret exists: $(status missing)"
ks_log "running $(($(ks_now_ms) - t0)) ms after the secret was added"
running good || ks_fail "good stopped running"
! running wrong || ks_fail "wrong runs"
ks_static_agent_stop || true
ks_log "ok"
