#!/bin/bash
# test_cli_webhook.sh: POST /hooks/git as the forges send it, with curl and
# signatures computed by openssl, against a real API server
# (tests/e2e/progs/apiserver.c, whose sync hook records each accepted
# request in <state>/sync-requests). GitHub (X-Hub-Signature-256), Gitea
# (X-Gitea-Signature) and GitLab (X-Gitlab-Token) are accepted with the right
# secret; a wrong secret, a tampered body or no signature is 401, logged,
# and asks for no sync; a server without a secret answers 404. Also POST
# /api/v1/sync with the admin token.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
APISERVER="$KS_BUILD_DIR/tests/e2e/e2e_apiserver"
[[ -x "$APISERVER" ]] || ks_fail "e2e_apiserver not built at $APISERVER"

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-hook.XXXXXX")
ks_on_exit rm -rf "$work"
secret='correct horse battery staple'
start_server() { # STATE [SECRET]
  mkdir -p "$1"
  "$APISERVER" "$@" 2>"$1.log" &
  ks_on_exit kill "$!"
  ks_wait_for -t 20 test -s "$1/api.url" || ks_fail "api.url not written: $(cat "$1.log")"
}
start_server "$work/state" "$secret"
url=$(cat "$work/state/api.url")
requests="$work/state/sync-requests"

body='{"ref":"refs/heads/main","after":"5f1c0de","repository":{"full_name":"acme/deploy"}}'
hmac() { # SECRET: hex HMAC-SHA256 of $body
  printf '%s' "$body" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}
sig=$(hmac "$secret")
[[ "$sig" =~ ^[0-9a-f]{64}$ ]] || ks_fail "openssl gave no HMAC: $sig"
hook() { # DATA HEADER...: prints the HTTP status, body into $work/answer
  local data=$1
  shift
  local args=()
  for h in "$@"; do args+=(-H "$h"); done
  curl -sS -o "$work/answer" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "${args[@]}" --data-binary "$data" "$url/hooks/git"
}
count() { if [[ -f "$requests" ]]; then grep -c "reason=$1" "$requests" || true; else echo 0; fi; }

ks_log "GitHub, Gitea and GitLab deliveries with the right secret ask for a sync"
[[ $(hook "$body" "X-GitHub-Event: push" "X-Hub-Signature-256: sha256=$sig") == 202 ]] ||
  ks_fail "GitHub delivery refused: $(cat "$work/answer")"
[[ $(jq -r .ticket "$work/answer") == 1 ]] || ks_fail "no ticket: $(cat "$work/answer")"
[[ $(hook "$body" "X-Gitea-Signature: $sig") == 202 ]] || ks_fail "Gitea delivery refused"
[[ $(hook "$body" "X-Gitlab-Token: $secret" "X-Gitlab-Event: Push Hook") == 202 ]] ||
  ks_fail "GitLab delivery refused"
[[ $(count webhook) -eq 3 ]] || ks_fail "want 3 webhook sync requests: $(cat "$requests")"

ks_log "GitHub's ping is answered without a sync"
[[ $(hook "$body" "X-GitHub-Event: ping" "X-Hub-Signature-256: sha256=$sig") == 200 ]] ||
  ks_fail "ping refused"
[[ $(count webhook) -eq 3 ]] || ks_fail "ping asked for a sync"

ks_log "wrong secret, tampered body, no signature: 401, logged, no sync"
bad=$(hmac "wrong secret")
[[ $(hook "$body" "X-Hub-Signature-256: sha256=$bad") == 401 ]] || ks_fail "wrong GitHub signature accepted"
[[ $(jq -r .error "$work/answer") == *"X-Hub-Signature-256"* ]] || ks_fail "401 body: $(cat "$work/answer")"
[[ $(hook "${body/main/evil}" "X-Hub-Signature-256: sha256=$sig") == 401 ]] || ks_fail "tampered body accepted"
[[ $(hook "$body" "X-Gitea-Signature: $bad") == 401 ]] || ks_fail "wrong Gitea signature accepted"
[[ $(hook "$body" "X-Gitlab-Token: wrong") == 401 ]] || ks_fail "wrong GitLab token accepted"
[[ $(hook "$body") == 401 ]] || ks_fail "unsigned delivery accepted"
admin=$(cat "$work/state/tokens/admin")
[[ $(hook "$body" "Authorization: Bearer $admin") == 401 ]] || ks_fail "bearer token replaced the signature"
[[ $(count webhook) -eq 3 ]] || ks_fail "a refused delivery asked for a sync: $(cat "$requests")"
[[ $(grep -c 'msg="webhook refused"' "$work/state.log") -eq 6 ]] ||
  ks_fail "want 6 refusals logged: $(cat "$work/state.log")"
grep -q 'msg="webhook refused" forge=gitlab peer=127.0.0.1:[0-9]* reason="X-Gitlab-Token is not the webhook secret"' \
  "$work/state.log" || ks_fail "refusal log line: $(cat "$work/state.log")"

ks_log "an oversized delivery is 413"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$work/big"
[[ $(hook "@$work/big" "X-Gitlab-Token: $secret") == 413 ]] || ks_fail "oversized body not refused"
[[ $(count webhook) -eq 3 ]] || ks_fail "oversized body asked for a sync"

ks_log "POST /api/v1/sync with the admin token; without it 401"
code=$(curl -sS -o "$work/answer" -w '%{http_code}' -X POST -H "Authorization: Bearer $admin" "$url/api/v1/sync")
[[ $code == 202 && $(jq -r .ticket "$work/answer") == 4 ]] || ks_fail "sync: $code $(cat "$work/answer")"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/sync")
[[ $code == 401 && $(count api) -eq 1 ]] || ks_fail "unauthenticated sync: $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $admin" \
  --unix-socket "$work/state/api.sock" "http://localhost/api/v1/sync")
[[ $code == 202 && $(count api) -eq 2 ]] || ks_fail "sync over the Unix socket: $code"

ks_log "a server without a webhook secret has no webhook (404)"
start_server "$work/nosecret"
url=$(cat "$work/nosecret/api.url")
[[ $(hook "$body" "X-Hub-Signature-256: sha256=$sig") == 404 ]] || ks_fail "webhook without a secret not 404"
[[ ! -f "$work/nosecret/sync-requests" ]] || ks_fail "sync requested without a secret"
ks_log "ok"
