#!/bin/bash
# test_own.sh: the renderer's own conformance cases (tests/conformance/own/,
# expected output made by the real helm 3.17.1, see own/README.md): each
# case's args.txt with `helm template` replaced by `reconcile render`, run
# from the case directory, must print expected.txt byte for byte.
# RECONCILE overrides the binary.
set -uo pipefail
src=${KS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${KS_BUILD_DIR:-$src/build}
reconcile=${RECONCILE:-$build/reconciler/reconcile}
[ -x "$reconcile" ] || { echo "missing $reconcile" >&2; exit 1; }
reconcile=$(cd "$(dirname "$reconcile")" && pwd)/$(basename "$reconcile")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ks-conf-own.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0
for dir in "$src"/tests/conformance/own/*/; do
  name=$(basename "$dir")
  read -r -a args <"$dir/args.txt"
  [ "${args[0]} ${args[1]}" = "helm template" ] || { echo "FAIL $name: args.txt is not a helm template command"; fails=$((fails + 1)); continue; }
  n=$((n + 1))
  if ! (cd "$dir" && "$reconcile" render "${args[@]:2}") >"$tmp/out" 2>"$tmp/err"; then
    echo "FAIL $name: exit non-zero: $(head -c 300 "$tmp/err")"
    fails=$((fails + 1))
  elif ! cmp -s "$tmp/out" "$dir/expected.txt"; then
    echo "FAIL $name: output differs: $(diff "$dir/expected.txt" "$tmp/out" | head -n 6 | tr '\n' '|' | head -c 400)"
    fails=$((fails + 1))
  else
    echo "PASS $name"
  fi
done
echo "$((n - fails))/$n own cases pass"
[ $n -gt 0 ] && [ $fails -eq 0 ]
