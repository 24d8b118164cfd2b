#!/bin/bash
# tests/e2e/test_cpclient.sh: the node agent's HTTP source
# (nodeagent/cpclient/) against the real API server (reconciler/api/) on a
# loopback port with a temporary SQLite store. The program
# (progs/cpclient.c, built as e2e_cpclient) starts the server in-process
# and removes its temporary directories; this script gives it a private
# TMPDIR (removed at exit, also when the program was killed) and a time bound.
set -euo pipefail

: "${KS_SOURCE_DIR:?KS_SOURCE_DIR must point at the keelson source tree}"
: "${KS_BUILD_DIR:?KS_BUILD_DIR must point at the build directory}"
KS_TEST_NAME=cpclient
# shellcheck source=lib/common.sh
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"

prog="$KS_BUILD_DIR/tests/e2e/e2e_cpclient"
[[ -x "$prog" ]] || ks_fail "$prog is not built (cmake --build $KS_BUILD_DIR --target e2e_cpclient)"

# The program keeps its state under TMPDIR; a killed run leaves nothing behind.
work=$(mktemp -d "${TMPDIR:-/tmp}/keelson-cpc.XXXXXX") || ks_fail "mktemp -d failed"
ks_on_exit rm -rf "$work"

# A self-signed certificate for the HTTPS case (CN and SAN 127.0.0.1).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" \
  >"$work/openssl.log" 2>&1 || ks_fail "openssl req failed: $(cat "$work/openssl.log")"

# The program's own waits are at most a few seconds each; 120 s bounds a hang.
TMPDIR="$work" KS_TEST_TLS_CERT="$work/cert.pem" KS_TEST_TLS_KEY="$work/key.pem" \
  timeout --kill-after=5 120 "$prog" </dev/null || ks_fail "e2e_cpclient failed (exit $?)"
ks_log "cpclient: all cases passed"
