#!/bin/bash
# test_writeback_https.sh: the status branch pushed over HTTPS with a token,
# the way a GitHub/Gitea remote is used. A loopback HTTPS server
# (lib/git-https-server.py: `git http-backend` behind Python's http.server, a
# self-signed certificate made with openssl, Basic auth accepting only
# x-access-token:<token>) holds the bare remote. The daemon (no node, a
# ConfigMap to deploy) runs with --status-remote https://127.0.0.1:PORT/...:
#  1. with a wrong KEELSON_GIT_TOKEN the server answers 401, nothing arrives
#     and the commits stay queued (said on stop);
#  2. restarted with the right token (and KEELSON_GIT_CA_FILE naming the
#     certificate), the queued sync commit and the new ones arrive, in order;
#  3. without KEELSON_GIT_CA_FILE the self-signed certificate is refused.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"
command -v openssl >/dev/null || ks_fail "openssl is needed"
[[ -x "$(git --exec-path)/git-http-backend" ]] || ks_fail "git http-backend is needed"

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-wbhttps.XXXXXX")
ks_on_exit rm -rf "$work"
ks_git_identity
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost" >/dev/null 2>&1 || ks_fail "openssl req failed"
mkdir -p "$work/srv"
git init -q --bare "$work/srv/remote.git"
server_pid=
python3 "$KS_SOURCE_DIR/tests/e2e/lib/git-https-server.py" "$work/srv" "$work/port" x-access-token s3cret \
  "$work/cert.pem" "$work/key.pem" "$work/requests.log" 2>"$work/server.err" &
server_pid=$!
stop_server() { [[ -z "$server_pid" ]] || { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }; }
ks_on_exit stop_server
ks_wait_for -t 20 test -s "$work/port" || ks_fail "the HTTPS server did not start: $(cat "$work/server.err")"
# the name, not the address: libgit2's mbedTLS checks DNS names only
remote="https://localhost:$(cat "$work/port")/remote.git"
rgit() { git --git-dir="$work/srv/remote.git" "$@"; }

repo="$work/repo"
git init -q -b main "$repo"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n' > "$repo/settings.yaml"
git -C "$repo" add -A
git -C "$repo" commit -qm "settings: hello"
first=$(git -C "$repo" rev-parse main)

start_daemon() { # TOKEN [CA]
  local port
  port=$(ks_free_port)
  rm -f "$work/state/api.url"
  ks_daemon_run "$work/daemon.log" env KEELSON_GIT_TOKEN="$1" KEELSON_GIT_CA_FILE="${2:-}" \
    "$RECONCILE" --repo "$repo" --state-dir "$work/state" --listen "127.0.0.1:$port" --interval 0 \
    --no-local-node --writeback-interval 1s --status-remote "$remote"
  ks_wait_for -t 30 test -s "$work/state/api.url" || fail "the daemon did not start"
}
fail() { tail -n 30 "$work/daemon.log" >&2; tail -n 20 "$work/requests.log" >&2 || true; ks_fail "$@"; }
local_has_sync() { git -C "$repo" log --format=%s keelson/status 2>/dev/null | ks_grep "^sync ${1:0:7}: applied"; }
remote_has_sync() { rgit log --format=%s keelson/status 2>/dev/null | ks_grep "^sync ${1:0:7}: applied"; }

ks_log "1. a wrong token: 401, the commits stay queued"
start_daemon wrong-token "$work/cert.pem"
ks_wait_for -t 30 local_has_sync "$first" || fail "no local sync commit"
ks_wait_for -t 30 grep -q '" 401 ' "$work/requests.log" || fail "the server saw no unauthorised push"
sleep 2
rgit rev-parse -q --verify refs/heads/keelson/status >/dev/null && fail "a push with a wrong token arrived"
ks_daemon_stop
grep -q "not all status commits were pushed; they stay queued" "$work/daemon.log" ||
  fail "stopping with unpushed commits is not said"

ks_log "2. the right token: the queue and new commits arrive in order"
start_daemon s3cret "$work/cert.pem"
ks_wait_for -t 30 remote_has_sync "$first" || fail "the queued sync commit did not arrive: $(rgit for-each-ref)"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hi\n' > "$repo/settings.yaml"
git -C "$repo" commit -qam "settings: hi"
second=$(git -C "$repo" rev-parse main)
ks_wait_for -t 30 remote_has_sync "$second" || fail "the next sync commit did not arrive: $(rgit log --format=%s keelson/status)"
order=$(rgit log --reverse --format=%s keelson/status | grep '^sync ' | cut -c1-12 | tr '\n' ' ')
[[ "$order" == "sync ${first:0:7} sync ${second:0:7} " ]] || fail "order on the remote: $order"
[[ $(rgit rev-parse keelson/status) == $(git -C "$repo" rev-parse keelson/status) ]] || fail "remote and local tips differ"
grep -q '"POST /remote.git/git-receive-pack HTTP/1.1" 200' "$work/requests.log" || fail "no authorised push seen"
ks_daemon_stop

ks_log "3. without the CA file the self-signed certificate is refused"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hey\n' > "$repo/settings.yaml"
git -C "$repo" commit -qam "settings: hey"
third=$(git -C "$repo" rev-parse main)
before=$(wc -l < "$work/requests.log")
start_daemon s3cret ""
ks_wait_for -t 30 local_has_sync "$third" || fail "no local sync commit for the third commit"
sleep 2
ks_daemon_stop
remote_has_sync "$third" && fail "pushed over a certificate nobody vouched for"
[[ $(wc -l < "$work/requests.log") == "$before" ]] || fail "requests reached the server without a verified certificate"
grep -q "not all status commits were pushed" "$work/daemon.log" || fail "the refused push is not said"
ks_log "ok: $(grep -c '" 200 ' "$work/requests.log") authorised requests, $(grep -c '" 401 ' "$work/requests.log") refused"
