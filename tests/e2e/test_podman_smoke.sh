#!/bin/bash
# tests/e2e/test_podman_smoke.sh: proves the Podman fixture end to end.
#
# Everything keelson's node agent will do to a pod goes through the libpod v4
# REST socket; this test does the same steps by hand with curl (pod create
# with a loopback port mapping, container create in the pod, pod start, pod
# delete) against a private service, fetches a page served from inside the
# pod, and then checks that stopping the fixture leaves nothing behind: no
# process, no mount, no directory. It prints how long pod create and pod start
# took, the numbers DESIGN.md §5 quotes.
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
KS_TEST_NAME=podman_smoke # read by ks_log and ks_fail
# shellcheck source=tests/e2e/lib/podman-fixture.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/podman-fixture.sh"

node=smoke
other=smoke-b
ks_podman_start "$node"
ks_podman_start "$other" # a second "node": must not see the first one's pods
dir=$(ks_podman_get "$node" DIR)
other_dir=$(ks_podman_get "$other" DIR)
resp=$(ks_podman_get "$node" RESPONSE)
api=/$KS_PODMAN_API_VERSION/libpod

# expect_status WANT CODE WHAT: fail with the response body unless CODE==WANT.
expect_status() {
  if [[ "$2" != "$1" ]]; then
    cat "$resp" >&2 2>/dev/null || true
    echo >&2
    ks_fail "$3: HTTP $2, expected $1"
  fi
}

t0=$(ks_now_ms)
ks_podman_image "$node"
image_ms=$(($(ks_now_ms) - t0))
t0=$(ks_now_ms)
ks_podman_image "$node" # second call: cached, must not re-import
image_cached_ms=$(($(ks_now_ms) - t0))
ks_podman_cli "$node" image exists "$KS_PODMAN_IMAGE" || ks_fail "image $KS_PODMAN_IMAGE missing after import"

port=$(ks_free_port)
pod=ks-smoke-pod
ctr=ks-smoke-web
page="hello-keelson-$port-$$"

# Pod with one loopback port mapping (PodSpecGenerator: portmappings is a list
# of {host_ip, host_port, container_port, protocol}).
t0=$(ks_now_ms)
code=$(ks_podman_api "$node" POST "$api/pods/create" "$(printf '{
  "name": "%s",
  "labels": {"io.keelson.test": "podman_smoke"},
  "portmappings": [{"host_ip": "127.0.0.1", "host_port": %d, "container_port": 8080, "protocol": "tcp"}]
}' "$pod" "$port")")
pod_create_ms=$(($(ks_now_ms) - t0))
expect_status 201 "$code" "pod create"
pod_id=$(grep -oE '"Id": *"[0-9a-f]{64}"' "$resp" | grep -oE '[0-9a-f]{64}') ||
  ks_fail "pod create answered without an Id: $(cat "$resp")"

# A container in the pod (SpecGenerator: name, pod, image, command,
# stop_timeout). The shell stays PID 1 of the container's PID namespace with a
# SIGTERM trap: a bare `exec httpd` would be PID 1 without a handler, ignore
# SIGTERM and make every stop wait out the whole stop_timeout.
code=$(ks_podman_api "$node" POST "$api/containers/create" "$(printf '{
  "name": "%s",
  "pod": "%s",
  "image": "%s",
  "command": ["sh", "-c", "trap \\"exit 0\\" TERM; mkdir -p /www && echo %s > /www/index.html || exit 1; httpd -f -p 8080 -h /www & wait"],
  "stop_timeout": 5
}' "$ctr" "$pod" "$KS_PODMAN_IMAGE" "$page")")
expect_status 201 "$code" "container create"

t0=$(ks_now_ms)
code=$(ks_podman_api "$node" POST "$api/pods/$pod/start")
pod_start_ms=$(($(ks_now_ms) - t0))
expect_status 200 "$code" "pod start"

code=$(ks_podman_api "$node" GET "$api/containers/$ctr/json")
expect_status 200 "$code" "container inspect"
grep -q '"Running": *true' "$resp" || ks_fail "container $ctr is not running: $(cat "$resp")"

code=$(ks_podman_api "$other" GET "$api/pods/$pod/exists")
expect_status 404 "$code" "pod $pod seen from the other instance"

url="http://127.0.0.1:$port/"
ks_wait_for -t 20 curl -sf --max-time 2 "$url" ||
  ks_fail "nothing answered on $url within 20s (port mapping broken?)"
got=$(curl -sS --max-time 5 "$url")
[[ "$got" == "$page" ]] || ks_fail "GET $url returned '$got', expected '$page'"
ks_log "GET $url -> $got"

# A second, empty pod shows pod create once the infra (pause) image exists:
# the first pod create of an instance also builds that image.
t0=$(ks_now_ms)
code=$(ks_podman_api "$node" POST "$api/pods/create" '{"name": "ks-smoke-warm"}')
pod_create_warm_ms=$(($(ks_now_ms) - t0))
expect_status 201 "$code" "second pod create"
code=$(ks_podman_api "$node" DELETE "$api/pods/ks-smoke-warm?force=true")
expect_status 200 "$code" "second pod delete"

t0=$(ks_now_ms)
code=$(ks_podman_api "$node" DELETE "$api/pods/$pod?force=true")
pod_delete_ms=$(($(ks_now_ms) - t0))
expect_status 200 "$code" "pod delete"
grep -qE '"Err": *null' "$resp" || ks_fail "pod delete reported an error: $(cat "$resp")"
code=$(ks_podman_api "$node" GET "$api/pods/$pod/exists")
expect_status 404 "$code" "pod exists after delete"
code=$(ks_podman_api "$node" GET "$api/containers/$ctr/exists")
expect_status 404 "$code" "container exists after delete"
if curl -sf --max-time 2 "$url" >/dev/null 2>&1; then
  ks_fail "$url still answers after the pod was deleted"
fi

# Stop the fixture and check that nothing of it is left.
t0=$(ks_now_ms)
ks_podman_stop "$node" || ks_fail "ks_podman_stop $node reported leftovers (see above)"
stop_ms=$(($(ks_now_ms) - t0))
ks_podman_stop "$other" || ks_fail "ks_podman_stop $other reported leftovers (see above)"
for d in "$dir" "$other_dir"; do
  [[ ! -e "$d" ]] || ks_fail "$d still exists after ks_podman_stop"
  procs=$(ks_podman_pids_matching "$d")
  [[ -z "$procs" ]] || ks_fail "processes still mention $d: $procs"
  mounts=$(ks_podman_mounts_under "$d")
  [[ -z "$mounts" ]] || ks_fail "mounts left under $d: $mounts"
done
for d in /sys/fs/cgroup/*/libpod_parent/"$pod_id" /sys/fs/cgroup/libpod_parent/"$pod_id"; do
  [[ ! -e "$d" ]] || ks_fail "cgroup $d of the deleted pod is still there"
done
if ks_port_in_use "$port"; then
  ks_fail "port $port is still claimed after stop (stale iptables DNAT?)"
fi

printf 'podman_smoke: image build %d ms (cached %d ms), pod create %d ms (warm %d ms), pod start %d ms, pod delete %d ms, fixture stop %d ms\n' \
  "$image_ms" "$image_cached_ms" "$pod_create_ms" "$pod_create_warm_ms" "$pod_start_ms" "$pod_delete_ms" "$stop_ms"
