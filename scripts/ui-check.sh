#!/usr/bin/env bash
# The dashboard (/__admin/ui) in headless Chromium: installs Debian's `chromium` when it is
# missing (CI runs as root on Debian) and playwright-core (pinned) under target/ui-check/,
# then runs scripts/ui/check.mjs against target/debug/asr-mock. Prints PASS/FAIL lines and
# `N passed, M failed`; exits non-zero on any failure.
#
#   bash scripts/ui-check.sh
#
# Environment:
#   ASR_MOCK_BIN   the simulator binary (default: build and use target/debug/asr-mock)
#   UI_SHOTS       a folder to write the README's screenshots to (e.g. docs)
set -euo pipefail

PLAYWRIGHT_CORE_VERSION=1.65.1
CHROMIUM=/usr/bin/chromium

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/target/ui-check"

if [[ ! -x "$CHROMIUM" ]]; then
    echo "# installing chromium (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium >/dev/null
fi
"$CHROMIUM" --version

mkdir -p "$WORK"
if [[ ! -f "$WORK/node_modules/playwright-core/package.json" ]] ||
    ! grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$WORK/node_modules/playwright-core/package.json"; then
    echo "# installing playwright-core@$PLAYWRIGHT_CORE_VERSION"
    [[ -f "$WORK/package.json" ]] || echo '{"private": true, "type": "module"}' >"$WORK/package.json"
    (cd "$WORK" && npm install --no-audit --no-fund --silent "playwright-core@$PLAYWRIGHT_CORE_VERSION")
fi

if [[ -z "${ASR_MOCK_BIN:-}" ]]; then
    cargo build -q -p asr-mock
    ASR_MOCK_BIN="$ROOT/target/debug/asr-mock"
fi

# Node resolves playwright-core from the script's folder: run a copy from target/ui-check.
cp scripts/ui/check.mjs "$WORK/check.mjs"
SHOTS=""
if [[ -n "${UI_SHOTS:-}" ]]; then
    mkdir -p "$UI_SHOTS"
    SHOTS="$(cd "$UI_SHOTS" && pwd)"
fi
ASR_MOCK_BIN="$ASR_MOCK_BIN" AUDIO="$ROOT/mock-server/tests/fixtures/audio/speech-cmn-16k.wav" \
    SHOTS="$SHOTS" CHROMIUM="$CHROMIUM" node "$WORK/check.mjs"
