#!/bin/bash
# test_writeback.sh: the status branch across processes, checked with the git
# CLI the way a reviewer reads it. One process records a sync, observed state,
# a health transition and a healed drift and pushes to a bare remote; the
# remote goes away while a second process commits two syncs (its pushes fail,
# it exits); a third process, started after the remote is back, pushes the
# queued commits in order with nothing lost; another clone pushes to the
# status branch and the next writeback is re-applied on top of it (both
# writers' files kept); a URL source's mirror keeps its commits outside
# refs/heads. The user's work tree, HEAD and main stay untouched throughout.
# No Podman needed: the events are what the control plane would record.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
WB="$KS_BUILD_DIR/tests/e2e/e2e_writeback"
[[ -x "$WB" ]] || ks_fail "e2e_writeback not built at $WB"

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-writeback.XXXXXX")
ks_on_exit rm -rf "$work"
ks_git_identity
repo="$work/repo"
git init -q -b main "$repo"
printf 'kind: Deployment\n' > "$repo/web.yaml"
git -C "$repo" add -A
git -C "$repo" commit -qm deploy
printf 'local edit\n' >> "$repo/web.yaml"
main_sha=$(git -C "$repo" rev-parse main)
git init -q --bare "$work/remote.git"
remote="file://$work/remote.git"
S1=1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d
S2=2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e

user_untouched() {
  [[ $(git -C "$repo" symbolic-ref HEAD) == refs/heads/main ]] || ks_fail "HEAD moved"
  [[ $(git -C "$repo" rev-parse main) == "$main_sha" ]] || ks_fail "main moved"
  [[ $(git -C "$repo" status --porcelain) == " M web.yaml" ]] || ks_fail "work tree changed: $(git -C "$repo" status --porcelain)"
}

remote_log() {
  git --git-dir="$work/remote.git" log --format=%s --reverse keelson/status
}

ks_log "1: sync, status, health and a healed drift, pushed"
out=$("$WB" --repo "$repo" --remote "$remote" <<EOF
{"sync": {"source": "$S1", "result": "ok", "summary": {"create": 1, "update": 0, "delete": 0, "unchanged": 0, "changes": [{"action": "create", "kind": "Deployment", "namespace": "default", "name": "web"}]}}}
{"status": {"kind": "Deployment", "namespace": "default", "name": "web", "observed": {"replicas": {"desired": 1, "ready": 1}, "pods": [{"name": "web-1", "node": "node-a"}]}}}
{"health": {"kind": "Deployment", "namespace": "default", "name": "web", "health": "Healthy", "source": "$S1"}}
{"flush": true}
{"drift": {"type": "Warning", "reason": "Drift", "message": "container web stopped out of band", "node": "node-a", "object": {"kind": "Pod", "namespace": "default", "name": "web-1"}, "drift": {"what": "stopped", "container": "web", "found": {"state": "exited", "exitCode": 137}, "action": "restarted"}}}
{"flush": true}
EOF
)
[[ $(grep -c 'flush rc=0 ' <<<"$out") == 2 ]] || ks_fail "flushes failed: $out"
expected="sync 1a2b3c4: applied 1 created (+1 more: 1 health)
drift: default/web-1 container web stopped out of band on node-a, restarted"
[[ $(remote_log) == "$expected" ]] || ks_fail "remote log: $(remote_log)"
git --git-dir="$work/remote.git" show keelson/status:drift/default/web-1.yaml | grep -qx 'healed: true' ||
  ks_fail "drift file does not say healed"
trailers=$(git --git-dir="$work/remote.git" log -1 --format='%(trailers:only,unfold)' keelson/status)
[[ $trailers == $'Keelson-Event: drift\nKeelson-Object: Pod/default/web-1' ]] || ks_fail "trailers: $trailers"
user_untouched

ks_log "2: remote away, two syncs queue locally, the process exits"
mv "$work/remote.git" "$work/away.git"
out=$("$WB" --repo "$repo" --remote "$remote" <<EOF
{"sync": {"source": "$S2", "result": "failed", "error": "web.yaml:3:5: mapping values are not allowed here"}}
{"flush": true}
{"sync": {"source": "$S2", "result": "ok", "summary": {"create": 0, "update": 1, "delete": 0, "unchanged": 0}}}
{"flush": true}
EOF
)
[[ $(grep -c 'flush rc=-7 ' <<<"$out") == 2 ]] || ks_fail "expected two failed pushes (KS_EIO): $out"
grep -q 'unpushed=2 ' <<<"$out" || ks_fail "expected 2 queued commits: $out"
[[ $(git -C "$repo" rev-list --count keelson/status) == 4 ]] || ks_fail "local branch should hold 4 commits"

ks_log "3: remote back, a new process pushes the queue in order"
mv "$work/away.git" "$work/remote.git"
out=$("$WB" --repo "$repo" --remote "$remote" <<<'{"flush": true}')
grep -q 'flush rc=0 commits=0 unpushed=0' <<<"$out" || ks_fail "queued push: $out"
expected="$expected
sync 2b3c4d5 failed: web.yaml:3:5: mapping values are not allowed here
sync 2b3c4d5: applied 1 updated"
[[ $(remote_log) == "$expected" ]] || ks_fail "remote log after the outage: $(remote_log)"

ks_log "4: a concurrent writer is re-applied onto, not overwritten"
git clone -q -b keelson/status "$work/remote.git" "$work/other"
mkdir -p "$work/other/notes"
printf 'reviewed: true\n' > "$work/other/notes/review.yaml"
git -C "$work/other" add -A
git -C "$work/other" commit -qm "review notes"
git -C "$work/other" push -q origin keelson/status
theirs=$(git -C "$work/other" rev-parse HEAD)
out=$("$WB" --repo "$repo" --remote "$remote" <<EOF
{"node": {"name": "node-a", "node": {"capacity": {"cpu": "2", "memory": "4Gi"}, "pods": ["default/web-1"]}}}
{"flush": true}
EOF
)
grep -q 'flush rc=0 ' <<<"$out" || ks_fail "push after the other writer: $out"
git --git-dir="$work/remote.git" merge-base --is-ancestor "$theirs" keelson/status ||
  ks_fail "the other writer's commit was overwritten"
files=$(git --git-dir="$work/remote.git" ls-tree -r --name-only keelson/status | tr '\n' ' ')
[[ $files == "drift/default/web-1.yaml nodes/node-a.yaml notes/review.yaml status/default/Deployment/web.yaml sync.yaml " ]] ||
  ks_fail "files: $files"
[[ $(git --git-dir="$work/remote.git" log -1 --format=%s keelson/status) == "node: node-a updated" ]] ||
  ks_fail "last subject: $(git --git-dir="$work/remote.git" log -1 --format=%s keelson/status)"
user_untouched

ks_log "5: a mirror keeps its commits outside refs/heads (a fetch with pruning leaves them alone)"
# made as reconciler/source/git.c makes its mirrors
git init -q --bare "$work/mirror.git"
git -C "$work/mirror.git" remote add origin "$remote"
git -C "$work/mirror.git" config remote.origin.fetch '+refs/heads/*:refs/heads/*'
git -C "$work/mirror.git" fetch -q --prune origin
out=$("$WB" --repo "$work/mirror.git" --remote origin --local-ref refs/keelson/keelson/status <<EOF
{"sync": {"source": "$S1", "result": "ok", "summary": {"create": 0, "update": 0, "delete": 1, "unchanged": 1}}}
{"flush": true}
EOF
)
grep -q 'flush rc=0 ' <<<"$out" || ks_fail "mirror push: $out"
git -C "$work/mirror.git" fetch -q --prune origin
[[ $(git -C "$work/mirror.git" rev-parse refs/keelson/keelson/status) == $(git --git-dir="$work/remote.git" rev-parse keelson/status) ]] ||
  ks_fail "mirror and remote differ"
[[ $(git --git-dir="$work/remote.git" log -1 --format=%s keelson/status) == "sync 1a2b3c4: applied 1 deleted" ]] ||
  ks_fail "mirror's commit not on the remote"

ks_log "git log --oneline keelson/status on the remote:"
git --git-dir="$work/remote.git" log --oneline keelson/status >&2
ks_log "PASS"
