#!/usr/bin/env bash
# Proves the Node packages work as a user gets them: builds the simulator binary, packs
# `asr-mock` and `@asr-mock/linux-x64` with npm, installs both tarballs into a scratch
# project with the official @coze/api, and runs the node:test examples in node/examples/
# (HTTP and WebSocket through the SDK, unchanged) and the package checks in node/test/.
#
#   bash scripts/node-check.sh           # from anywhere in the repo
#
# Prints one PASS/FAIL line per check and ends with `N passed, M failed`; exits non-zero on
# any failure. Works under target/node-check/ (git-ignored) and removes it when done.
#
# Environment:
#   ASR_MOCK_BIN     pack this binary instead of building target/release/asr-mock (the
#                    checks themselves always run the binary from the installed package)
#   NODE_CHECK_KEEP  1: keep target/node-check/ for a look afterwards
set -euo pipefail
# shellcheck source=scripts/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

COZE_JS_VERSION=1.3.9 # as scripts/sdk-check.sh
AXIOS_VERSION=1.21.1  # @coze/api's peer dependency, pinned as there
TYPESCRIPT_VERSION=5.6.3

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/target/node-check"
AUDIO_DIR="$ROOT/mock-server/tests/fixtures/audio"

cleanup() {
    if [[ "${NODE_CHECK_KEEP:-}" != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    setup_fail "node and npm are needed (Debian: apt-get install nodejs npm)"
fi
rm -rf "$WORK"
mkdir -p "$WORK"

# ---- the binary ---------------------------------------------------------------------------
if [[ -n "${ASR_MOCK_BIN:-}" ]]; then
    BIN="$ASR_MOCK_BIN"
    echo "# binary: $BIN (ASR_MOCK_BIN)"
else
    echo "# cargo build --release -p asr-mock"
    build_start=$SECONDS
    cargo build --release --locked -p asr-mock >"$WORK/build.log" 2>&1 ||
        setup_fail "cargo build --release -p asr-mock" "$WORK/build.log"
    BIN="$ROOT/target/release/asr-mock"
    echo "# built in $((SECONDS - build_start)) s"
fi
[[ -x "$BIN" ]] || setup_fail "no executable simulator binary at $BIN"

# ---- versions -----------------------------------------------------------------------------
pkg_field() { # pkg_field FILE EXPRESSION: prints a field of a package.json
    node -e 'const p = require(process.argv[1]); console.log(eval(process.argv[2]) ?? "")' "$1" "$2"
}
cargo_version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
main_version="$(pkg_field "$ROOT/node/asr-mock/package.json" p.version)"
platform_version="$(pkg_field "$ROOT/node/@asr-mock/linux-x64/package.json" p.version)"
pinned_version="$(pkg_field "$ROOT/node/asr-mock/package.json" 'p.optionalDependencies["@asr-mock/linux-x64"]')"
binary_version="$("$BIN" --version | sed -n 's/^asr-mock //p')"
versions="cargo $cargo_version, asr-mock $main_version, @asr-mock/linux-x64 $platform_version (pinned $pinned_version), binary $binary_version"
if [[ -n "$cargo_version" && "$main_version" == "$cargo_version" && "$platform_version" == "$cargo_version" &&
    "$pinned_version" == "$cargo_version" && "$binary_version" == "$cargo_version" ]]; then
    pass "versions agree: $versions"
else
    fail "versions differ: $versions"
fi
VERSION="$main_version"

# ---- npm pack -----------------------------------------------------------------------------
# The platform package is staged with the binary copied in, so the source tree stays clean.
STAGE="$WORK/stage/linux-x64"
mkdir -p "$WORK/stage"
cp -R "$ROOT/node/@asr-mock/linux-x64" "$STAGE"
mkdir -p "$STAGE/bin"
cp "$BIN" "$STAGE/bin/asr-mock"
chmod 755 "$STAGE/bin/asr-mock"
if command -v strip >/dev/null; then
    strip "$STAGE/bin/asr-mock" || setup_fail "strip the binary"
fi
echo "# binary in the package: $(($(stat -c %s "$STAGE/bin/asr-mock") / 1024)) KiB"

pack() { # pack DIR: npm pack into $WORK, print the tarball's path
    local out
    out="$(cd "$1" && npm pack --silent --pack-destination "$WORK" 2>>"$WORK/pack.log")" || return 1
    echo "$WORK/${out##*$'\n'}"
}
MAIN_TGZ="$(pack "$ROOT/node/asr-mock")" || setup_fail "npm pack node/asr-mock" "$WORK/pack.log"
PLATFORM_TGZ="$(pack "$STAGE")" || setup_fail "npm pack @asr-mock/linux-x64" "$WORK/pack.log"

# What each tarball holds, exactly (a stray test or a missing entry point fails here).
main_files="$(tar tzf "$MAIN_TGZ" | sort | tr '\n' ' ')"
main_expected="package/README.md package/bin/asr-mock.cjs package/index.cjs package/index.d.mts package/index.d.ts package/index.mjs package/lib/binary.cjs package/lib/control.cjs package/lib/json.cjs package/lib/options.cjs package/lib/process.cjs package/package.json "
if [[ "$main_files" == "$main_expected" ]]; then
    pass "npm pack asr-mock: $(basename "$MAIN_TGZ"), $(($(stat -c %s "$MAIN_TGZ") / 1024)) KiB, $(wc -w <<<"$main_files") files"
else
    fail "npm pack asr-mock holds: $main_files (expected: $main_expected)"
fi
platform_bin="$(tar tvzf "$PLATFORM_TGZ" package/bin/asr-mock 2>/dev/null || true)"
if [[ "$platform_bin" == -rwx* ]]; then
    pass "npm pack @asr-mock/linux-x64: $(basename "$PLATFORM_TGZ"), $(($(stat -c %s "$PLATFORM_TGZ") / 1024)) KiB, executable bin/asr-mock"
else
    fail "npm pack @asr-mock/linux-x64: no executable package/bin/asr-mock (${platform_bin:-missing})"
fi

# ---- scratch projects ---------------------------------------------------------------------
PROJECT="$WORK/project"
mkdir -p "$PROJECT/audio"
cat >"$PROJECT/package.json" <<EOF
{
  "name": "asr-mock-node-check",
  "private": true,
  "description": "Written by scripts/node-check.sh: the packed asr-mock with the Coze JS SDK.",
  "dependencies": {
    "asr-mock": "file:$MAIN_TGZ",
    "@asr-mock/linux-x64": "file:$PLATFORM_TGZ",
    "@coze/api": "$COZE_JS_VERSION",
    "axios": "$AXIOS_VERSION",
    "typescript": "$TYPESCRIPT_VERSION"
  }
}
EOF
(cd "$PROJECT" && npm install --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 ||
    setup_fail "npm install the tarballs with @coze/api@$COZE_JS_VERSION" "$WORK/npm.log"
if cmp -s "$STAGE/bin/asr-mock" "$PROJECT/node_modules/@asr-mock/linux-x64/bin/asr-mock" &&
    [[ -x "$PROJECT/node_modules/@asr-mock/linux-x64/bin/asr-mock" ]]; then
    pass "npm install: asr-mock, @asr-mock/linux-x64 (with its binary), @coze/api $COZE_JS_VERSION, axios $AXIOS_VERSION"
else
    fail "npm install: node_modules/@asr-mock/linux-x64/bin/asr-mock is missing or not the packed binary"
fi
cp "$AUDIO_DIR/speech-cmn-16k.wav" "$AUDIO_DIR/speech-en-16k.wav" "$PROJECT/audio/"
cp "$ROOT"/node/examples/*.test.mjs "$PROJECT/"

# The way a user ends up without the platform package.
NO_PLATFORM="$WORK/no-platform"
mkdir -p "$NO_PLATFORM"
echo '{ "name": "asr-mock-no-platform", "private": true }' >"$NO_PLATFORM/package.json"
(cd "$NO_PLATFORM" && npm install --no-audit --no-fund --loglevel=error --omit=optional "$MAIN_TGZ") >"$WORK/npm-no-platform.log" 2>&1 ||
    setup_fail "npm install --omit=optional asr-mock" "$WORK/npm-no-platform.log"

# ---- node:test ----------------------------------------------------------------------------
# Runs one test file under node:test (TAP kept in a file), prints a PASS/FAIL line per test
# with the reason of each failure, and counts them. A run that fails without a failing test
# (a crash) counts as one failure.
run_tests() {
    local label="$1" cwd="$2"
    shift 2
    local tap="$WORK/$label.tap" rc=0
    (cd "$cwd" && env -u ASR_MOCK_BIN "$@" node --test --test-reporter=tap --test-timeout=120000 \
        "${TEST_FILE:?}") >"$tap" 2>"$WORK/$label.err" || rc=$?
    local p f
    p=$(grep -c '^ok ' "$tap" || true)
    f=$(grep -c '^not ok ' "$tap" || true)
    awk -v label="$label" '
        /^ok [0-9]+ - / { sub(/^ok [0-9]+ - /, ""); print "PASS " label ": " $0; shown = 0; next }
        /^not ok [0-9]+ - / { sub(/^not ok [0-9]+ - /, ""); print "FAIL " label ": " $0; shown = 1; next }
        shown && /^  (error|expected|actual|code|stack):|^    [^ ]/ { if (n++ < 25) print "#   " $0 }
    ' "$tap"
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        echo "FAIL $label: node --test exited $rc"
        tail -n 20 "$tap" "$WORK/$label.err" | sed 's/^/#   /'
        f=1
    fi
    if [[ $((p + f)) -eq 0 ]]; then
        echo "FAIL $label: no test ran"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

TEST_FILE=readme.test.mjs run_tests readme-example "$PROJECT"
TEST_FILE=coze.test.mjs run_tests coze-example "$PROJECT" AUDIO_DIR=audio
TEST_FILE="$ROOT/node/test/package.test.mjs" run_tests package "$ROOT/node/test" \
    PROJECT="$PROJECT" NO_PLATFORM_PROJECT="$NO_PLATFORM" VERSION="$VERSION"

# ---- the README shows the example that ran ------------------------------------------------
readme_block="$(awk '/<!-- node\/examples\/readme.test.mjs -->/ { on = 1; next }
    on && /^```js$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }' README.md)"
if [[ -n "$readme_block" && "$readme_block" == "$(cat node/examples/readme.test.mjs)" ]]; then
    pass "README's From Node example is node/examples/readme.test.mjs, which ran above"
else
    fail "README's From Node example differs from node/examples/readme.test.mjs"
    diff <(echo "$readme_block") node/examples/readme.test.mjs | head -n 20 | sed 's/^/#   /' || true
fi

summary
[[ $failed -eq 0 ]]
