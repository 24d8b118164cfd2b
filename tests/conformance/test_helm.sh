#!/bin/bash
# Helm conformance (ctest: conformance.helm): runs every case of
# /work/shared/conformance/helm/INDEX.tsv with `helm template` replaced by
# `reconcile render`, from the case's cwd_for_args directory. Exit-0 cases
# must print expected.txt byte for byte; exit-1 cases must fail with one line
# "reconcile: ..." naming the template file and a line (the path helm's
# expected.stderr.txt names, followed by ":<line>"). Prints one line
# per case, then "N passed, M failed"; exits 1 if any case failed or the
# material is missing (a missing suite is a failure, never a skip).
#
# Environment: KS_SOURCE_DIR (repo root), KS_BUILD_DIR (build tree); RECONCILE
# overrides the binary; CASE_FILTER (a substring) runs only matching cases.
set -u

src=${KS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${KS_BUILD_DIR:-$src/build}
bin=${RECONCILE:-$build/reconciler/reconcile}
suite=$src/../shared/conformance/helm
index=$suite/INDEX.tsv

if [ ! -f "$index" ]; then
  echo "FAIL conformance material missing: $index"
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$bin" ]; then
  echo "FAIL reconcile binary missing: $bin"
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# Split on tabs exactly (empty fields kept): case, exit code, cwd, args.
while IFS= read -r -d '' case_dir && IFS= read -r -d '' code && IFS= read -r -d '' cwd &&
  IFS= read -r -d '' args; do
  if [ -n "${CASE_FILTER:-}" ] && [[ $case_dir != *"$CASE_FILTER"* ]]; then
    continue
  fi
  dir=$suite/$case_dir
  rest=${args#helm template}
  (cd "$suite/$cwd" && eval "\"\$bin\" render $rest") </dev/null >"$tmp/out" 2>"$tmp/err"
  rc=$?
  ok=0
  why=""
  if [ "$code" = "0" ]; then
    if [ $rc -ne 0 ]; then
      why="exit $rc: $(head -c 300 "$tmp/err")"
    elif ! cmp -s "$tmp/out" "$dir/expected.txt"; then
      why="output differs: $(diff "$dir/expected.txt" "$tmp/out" | head -n 6 | tr '\n' '|' | head -c 400)"
    else
      ok=1
    fi
  else
    tpl=$(grep -oE '[A-Za-z0-9_.-]+/templates/[A-Za-z0-9_./-]+' "$dir/expected.stderr.txt" | head -n 1)
    tpl=${tpl%:}
    if [ $rc -eq 0 ]; then
      why="succeeded, helm fails with: $(head -n 1 "$dir/expected.stderr.txt")"
    elif [ -n "$tpl" ] && ! grep -qE "$(printf '%s' "$tpl" | sed 's/[.[\*^$]/\\&/g'):[0-9]+" "$tmp/err"; then
      why="error does not name $tpl:<line>: $(head -c 300 "$tmp/err")"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q '^reconcile: ' "$tmp/err"; then
      why="error is not one line starting with \"reconcile: \": $(head -c 300 "$tmp/err")"
    else
      ok=1
    fi
  fi
  if [ $ok -eq 1 ]; then
    echo "PASS $case_dir"
    pass=$((pass + 1))
  else
    echo "FAIL $case_dir: $why"
    fail=$((fail + 1))
  fi
done < <(awk -F'\t' 'NR > 1 { printf "%s%c%s%c%s%c%s%c", $1, 0, $2, 0, $6, 0, $7, 0 }' "$index")

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
