#!/bin/bash
# test_git_ssh.sh: Git over SSH, as with a GitHub/Gitea deploy key: a private
# sshd on loopback (its own host key, one authorised client key) serves a
# bare origin and a bare status remote. `reconcile --once --no-local-node`
# fetches the desired state from ssh://... and pushes the status branch to
# ssh://..., with KEELSON_GIT_SSH_KEY and KEELSON_GIT_KNOWN_HOSTS:
#  1. the server's host key not in known_hosts: the fetch is refused with a
#     message naming [127.0.0.1]:PORT and how to add it; nothing deployed;
#  2. known_hosts listing another key for that name: refused as a mismatch;
#  3. the right key (hashed with ssh-keygen -H, as HashKnownHosts writes it):
#     the commit is deployed and the sync commit arrives on the remote's
#     keelson/status.
set -euo pipefail
source "$KS_SOURCE_DIR/tests/e2e/lib/common.sh"
RECONCILE="$KS_BUILD_DIR/reconciler/reconcile"
[[ -x "$RECONCILE" ]] || ks_fail "reconcile binary not built at $RECONCILE"
[[ -x /usr/sbin/sshd ]] || ks_fail "/usr/sbin/sshd is needed (openssh-server)"
command -v ssh-keyscan >/dev/null || ks_fail "ssh-keyscan is needed (openssh-client)"
[[ $(id -u) == 0 ]] || ks_fail "sshd needs root here (privilege separation)"

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-gitssh.XXXXXX")
ks_on_exit rm -rf "$work"
ks_git_identity
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/other_host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
cp "$work/id_ed25519.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
port=$(ks_free_port)
cat > "$work/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
CONF
mkdir -p /run/sshd
ks_daemon_run "$work/sshd.log" /usr/sbin/sshd -D -e -f "$work/sshd_config"
ks_wait_for -t 20 ks_port_in_use "$port" || ks_fail "sshd did not listen: $(cat "$work/sshd.log")"

git init -q --bare -b main "$work/origin.git"
git init -q --bare "$work/status.git"
git init -q -b main "$work/src"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n' \
  > "$work/src/settings.yaml"
git -C "$work/src" add -A
git -C "$work/src" commit -qm "settings: hello"
git -C "$work/src" push -q "$work/origin.git" main
head=$(git -C "$work/src" rev-parse main)

once() {
  KEELSON_GIT_SSH_KEY="$work/id_ed25519" KEELSON_GIT_KNOWN_HOSTS="$work/known_hosts" \
    "$RECONCILE" --once --no-local-node --repo "ssh://root@127.0.0.1:$port$work/origin.git" \
    --state-dir "$work/state" --status-remote "ssh://root@127.0.0.1:$port$work/status.git" \
    >"$work/once.out" 2>&1
}

ks_log "1. host key not in known_hosts: refused, named, nothing deployed"
: > "$work/known_hosts"
once && ks_fail "--once succeeded without a known host key: $(cat "$work/once.out")"
grep -q "SSH host key of \[127.0.0.1\]:$port is not in $work/known_hosts" "$work/once.out" ||
  ks_fail "no clear host-key message: $(cat "$work/once.out")"

ks_log "2. another key listed for the name: refused as a mismatch"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$work/other_host_key.pub")" > "$work/known_hosts"
once && ks_fail "--once accepted a wrong host key: $(cat "$work/once.out")"
grep -q "does not match the one in known_hosts" "$work/once.out" ||
  ks_fail "no mismatch message: $(cat "$work/once.out")"

ks_log "3. the right key, hashed: fetched over SSH, status pushed over SSH"
ssh-keyscan -p "$port" -t ed25519 127.0.0.1 2>/dev/null > "$work/known_hosts"
[[ -s "$work/known_hosts" ]] || ks_fail "ssh-keyscan found no key"
ssh-keygen -q -H -f "$work/known_hosts" >/dev/null 2>&1
grep -q '^|1|' "$work/known_hosts" || ks_fail "known_hosts was not hashed"
once || ks_fail "--once over SSH failed: $(cat "$work/once.out")"
grep -q "ConfigMap default/settings" "$work/once.out" || ks_fail "nothing deployed: $(cat "$work/once.out")"
git --git-dir="$work/status.git" log --format=%s keelson/status 2>/dev/null | ks_grep "^sync ${head:0:7}: applied" ||
  ks_fail "no sync commit on the remote: $(git --git-dir="$work/status.git" log --oneline --all 2>&1; cat "$work/once.out")"
ks_log "ok: fetch and push over SSH with known_hosts checking"
