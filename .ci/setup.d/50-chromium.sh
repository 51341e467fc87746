# Headless Chromium for the board's end-to-end test (tests/board_e2e_test.ts).
# Debian's `chromium` package; installed once, skipped when already there.
# Sourced by .ci/run: exports VOXLAB_REQUIRE_CHROMIUM=1 so the e2e test fails
# (rather than skips) when the browser is missing.
if ! command -v chromium >/dev/null 2>&1; then
  echo "ci: installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq >/dev/null || echo "ci: apt-get update failed or timed out"
  timeout 600 apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null ||
    echo "ci: apt-get install chromium failed or timed out"
fi
if command -v chromium >/dev/null 2>&1; then
  chromium --version 2>/dev/null | head -1 || true
fi
export VOXLAB_REQUIRE_CHROMIUM=1
