#!/bin/bash
# test_once_crash.sh: crash safety of `reconcile --once`. Fifty times: commit
# a new desired set (the object names and contents change every round), start
# a pass, kill -9 it after a random delay (anywhere from start-up to the
# middle of the apply transaction), then run a pass to completion. After
# every round the store must pass PRAGMA integrity_check and hold exactly the
# last commit's set.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"
ROUNDS=${KS_CRASH_ROUNDS:-50}

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-crash.XXXXXX")
ks_on_exit rm -rf "$work"
repo="$work/repo"
state="$work/state"
ks_git_identity
git init -q -b main "$repo"

# write_set ROUND: 150 ConfigMaps; a third are renamed each round (creates and
# deletes), the rest change a value (updates).
write_set() {
  local round=$1 i
  rm -rf "$repo/manifests"
  mkdir -p "$repo/manifests"
  for ((i = 0; i < 150; i++)); do
    local name="cm-$i"
    ((i % 3 == 0)) && name="cm-$i-r$round"
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  round: "%s"\n---\n' \
      "$name" "$round"
  done > "$repo/manifests/all.yaml"
  git -C "$repo" add -A
  git -C "$repo" commit -qm "round $round"
}

expected_names() {
  grep -o 'name: .*' "$repo/manifests/all.yaml" | cut -d' ' -f2 | sort
}

stored_names() {
  sqlite3 "$state/state.db" "SELECT name FROM objects WHERE kind='ConfigMap' ORDER BY name" | sort
}

write_set 0
"$RECONCILE" --once --no-local-node --repo "$repo" --state-dir "$state" >/dev/null || ks_fail "first pass failed"
# time one full pass of a round's size, to aim the kills over its whole length
write_set 1000
t0=$(ks_now_ms)
"$RECONCILE" --once --no-local-node --allow-mass-prune --repo "$repo" --state-dir "$state" >/dev/null ||
  ks_fail "timing pass failed"
pass_ms=$(($(ks_now_ms) - t0))
window_ms=$((pass_ms < 20 ? 24 : pass_ms * 6 / 5))
ks_log "a pass takes ${pass_ms} ms; kills land 0-${window_ms} ms after start"

killed=0
for ((round = 1; round <= ROUNDS; round++)); do
  write_set "$round"
  "$RECONCILE" --once --no-local-node --allow-mass-prune --repo "$repo" --state-dir "$state" >/dev/null 2>&1 &
  pid=$!
  delay=$((RANDOM % window_ms))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then
    killed=$((killed + 1))
  fi
  wait "$pid" 2>/dev/null || true
  "$RECONCILE" --once --no-local-node --allow-mass-prune --repo "$repo" --state-dir "$state" >/dev/null ||
    ks_fail "round $round: the pass after the crash failed"
  check=$(sqlite3 "$state/state.db" "PRAGMA integrity_check")
  [[ "$check" == ok ]] || ks_fail "round $round: integrity_check: $check"
  diff <(expected_names) <(stored_names) >/dev/null ||
    ks_fail "round $round: store does not hold the last commit's set"
  values=$(sqlite3 "$state/state.db" \
    "SELECT DISTINCT json_extract(body, '$.data.round') FROM objects WHERE kind='ConfigMap'")
  [[ "$values" == "$round" ]] || ks_fail "round $round: stale values in the store: $values"
done
ks_log "ok: $ROUNDS rounds, $killed passes killed mid-run"
