# shellcheck shell=bash
# tests/e2e/lib/chromium.sh: the dashboard's browser checks in Debian's
# headless Chromium: the DOM after scripts ran (--dump-dom), console
# messages (any console message or uncaught error fails the page: the
# dashboard logs nothing when it works), and screenshots kept as test
# artefacts under $KS_BUILD_DIR/test-artifacts.
#
# Chromium runs with a fresh profile per call and with its background
# networking off: this machine has no outside network, and Chromium's own
# connection attempts would otherwise fail noisily.

ks_chromium_bin() {
  command -v chromium || command -v chromium-browser || true
}

# ks_chromium_run OUT_PREFIX URL [extra flags...]: writes OUT_PREFIX.dom and
# OUT_PREFIX.log; fails when Chromium fails or the page logged to the console.
ks_chromium_run() {
  local prefix="$1" url="$2"
  shift 2
  local bin profile
  bin=$(ks_chromium_bin)
  [[ -n "$bin" ]] || ks_fail "chromium is not installed (ci/setup installs it)"
  profile=$(mktemp -d "${TMPDIR:-/tmp}/ks-chromium.XXXXXX")
  if ! timeout 90 "$bin" --headless --no-sandbox --disable-gpu --disable-background-networking \
      --disable-component-update --disable-sync --no-first-run --disable-quic \
      --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@" --dump-dom "$url" \
      >"$prefix.dom" 2>"$prefix.log"; then
    rm -rf "$profile"
    ks_fail "chromium failed on $url: $(tail -5 "$prefix.log")"
  fi
  rm -rf "$profile"
  if grep -q ':CONSOLE' "$prefix.log"; then
    ks_fail "console messages on $url: $(grep ':CONSOLE' "$prefix.log" | head -5)"
  fi
}

# ks_chromium_screenshot PNG URL [extra flags...]: a 1280x2000 screenshot.
ks_chromium_screenshot() {
  local png="$1" url="$2" bin profile
  shift 2
  bin=$(ks_chromium_bin)
  profile=$(mktemp -d "${TMPDIR:-/tmp}/ks-chromium.XXXXXX")
  mkdir -p "$(dirname "$png")"
  timeout 90 "$bin" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-quic \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2000 \
    "$@" --screenshot="$png" "$url" >/dev/null 2>&1 || true
  rm -rf "$profile"
  [[ -s "$png" ]] || ks_fail "no screenshot of $url"
}
