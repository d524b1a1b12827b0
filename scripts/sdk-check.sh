#!/usr/bin/env bash
# Proves the official Coze SDKs work unchanged against asr-mock, with only their base URL
# pointed at it: cozepy (PyPI) and @coze/api (npm).
#
#   bash scripts/sdk-check.sh            # from the repo root
#
# Installs the pinned SDKs under target/sdk/ (git-ignored; skipped when already there),
# builds and starts target/debug/asr-mock on a free port with a throwaway tokens file,
# runs scripts/sdk/coze_python_check.py and scripts/sdk/coze_node_check.mjs (HTTP) and
# scripts/sdk/coze_node_ws_check.mjs (streaming over ws://) against it, then starts a second
# simulator over TLS (`--tls-self-signed`, clock 10x) for scripts/sdk/coze_python_ws_check.py
# (cozepy streams only to an https:// base, as wss://), and last scripts/sdk/metrics_check.py
# parses the first simulator's /__admin/metrics with Prometheus' own Python parser
# (prometheus_client, pinned), and scripts/sdk/record_replay_check.{py,mjs} record through a
# proxying simulator and replay the recording in a fresh one. Prints one line per check and ends
# with `N passed, M failed`. Exits non-zero on any failure.
#
# Environment:
#   ASR_MOCK_BIN  use this simulator binary instead of building target/debug/asr-mock
#   PYTHON        interpreter for the venv (default python3)
set -euo pipefail
# shellcheck source=scripts/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

COZEPY_VERSION=0.20.0
COZE_JS_VERSION=1.3.9
AXIOS_VERSION=1.21.1 # @coze/api's peer dependency (^1.7.1), pinned so runs are repeatable
PROMETHEUS_CLIENT_VERSION=0.26.0 # its text-format parser reads the simulator's /__admin/metrics

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SDK_DIR="$ROOT/target/sdk"
VENV="$SDK_DIR/venv"
NODE_PREFIX="$SDK_DIR/node"
AUDIO_DIR="$ROOT/mock-server/tests/fixtures/audio"

TMP="$(mktemp -d)"
MOCK_PID=""
TLS_PID=""
TLS_SCALE=10 # the TLS simulator's clock speed: its real-time stream check runs 10x faster

cleanup() {
    local pid
    for pid in "$MOCK_PID" "$TLS_PID" "${SIM_PID:-}" "${UP_PID:-}" "${PROXY_PID:-}" "${REPLAY_PID:-}"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- SDKs ---------------------------------------------------------------------------------
install_python_sdk() {
    if [[ -x "$VENV/bin/python" ]] &&
        "$VENV/bin/python" -c "import sys, cozepy; sys.exit(cozepy.VERSION != '$COZEPY_VERSION')" 2>/dev/null &&
        [[ "$("$VENV/bin/pip" show prometheus_client 2>/dev/null | sed -n 's/^Version: //p')" == "$PROMETHEUS_CLIENT_VERSION" ]]; then
        echo "# cozepy $COZEPY_VERSION and prometheus_client $PROMETHEUS_CLIENT_VERSION already in target/sdk/venv"
        return
    fi
    local log="$TMP/pip.log"
    rm -rf "$VENV"
    mkdir -p "$SDK_DIR"
    "${PYTHON:-python3}" -m venv "$VENV" >"$log" 2>&1 || setup_fail "python venv (needs python3 with venv; Debian: apt-get install python3-venv)" "$log"
    "$VENV/bin/pip" install --disable-pip-version-check --no-input -q "cozepy==$COZEPY_VERSION" \
        "prometheus_client==$PROMETHEUS_CLIENT_VERSION" >>"$log" 2>&1 ||
        setup_fail "pip install cozepy==$COZEPY_VERSION prometheus_client==$PROMETHEUS_CLIENT_VERSION" "$log"
    echo "# installed cozepy $COZEPY_VERSION and prometheus_client $PROMETHEUS_CLIENT_VERSION into target/sdk/venv"
}

node_pkg_version() { # prints the installed version of package $1 under $NODE_PREFIX, or nothing
    node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
        "$NODE_PREFIX/node_modules/$1/package.json" 2>/dev/null || true
}

install_node_sdk() {
    command -v node >/dev/null && command -v npm >/dev/null ||
        setup_fail "node and npm are needed (Debian: apt-get install nodejs npm)"
    if [[ "$(node_pkg_version @coze/api)" == "$COZE_JS_VERSION" && "$(node_pkg_version axios)" == "$AXIOS_VERSION" ]]; then
        echo "# @coze/api $COZE_JS_VERSION (axios $AXIOS_VERSION) already in target/sdk/node"
        return
    fi
    local log="$TMP/npm.log"
    mkdir -p "$NODE_PREFIX"
    cat >"$NODE_PREFIX/package.json" <<EOF
{
  "name": "asr-mock-sdk-check",
  "private": true,
  "description": "Written by scripts/sdk-check.sh: the Coze JS SDK, pinned, for checks against asr-mock.",
  "dependencies": {
    "@coze/api": "$COZE_JS_VERSION",
    "axios": "$AXIOS_VERSION"
  }
}
EOF
    (cd "$NODE_PREFIX" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error) >"$log" 2>&1 ||
        setup_fail "npm install @coze/api@$COZE_JS_VERSION" "$log"
    [[ "$(node_pkg_version @coze/api)" == "$COZE_JS_VERSION" ]] || setup_fail "npm installed the wrong @coze/api" "$log"
    echo "# installed @coze/api $COZE_JS_VERSION (axios $AXIOS_VERSION) into target/sdk/node"
}

install_python_sdk
install_node_sdk

# ---- simulator ----------------------------------------------------------------------------
if [[ -n "${ASR_MOCK_BIN:-}" ]]; then
    MOCK="$ASR_MOCK_BIN"
else
    cargo build -p asr-mock >"$TMP/build.log" 2>&1 || setup_fail "cargo build -p asr-mock" "$TMP/build.log"
    MOCK="$ROOT/target/debug/asr-mock"
fi
[[ -x "$MOCK" ]] || setup_fail "no simulator binary at $MOCK"

cat >"$TMP/tokens.toml" <<'EOF'
[[tokens]]
token = "pat_good"
permissions = ["createTranscription"]

[[tokens]]
token = "pat_readonly"
permissions = []
EOF
: >"$TMP/empty.wav"

# Prints the address a simulator started with output prefix $1 and pid $2 listens on, once
# its first line says so (or nothing if it exits or takes 10 s).
listening_on() {
    local out="$1" pid="$2" line
    for _ in $(seq 1 100); do
        line="$(head -n 1 "$out" 2>/dev/null || true)"
        if [[ "$line" =~ ^asr-mock\ listening\ on\ (https?://[^[:space:]]+) ]]; then
            echo "${BASH_REMATCH[1]}"
            return
        fi
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

"$MOCK" --port 0 --seed 1 --tokens "$TMP/tokens.toml" >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCK_PID=$!
ADDR="$(listening_on "$TMP/mock.out" "$MOCK_PID")"
[[ "$ADDR" == http://* ]] || setup_fail "asr-mock did not start (stdout: $(head -c 200 "$TMP/mock.out"))" "$TMP/mock.err"
echo "# asr-mock at $ADDR"

# The same over TLS; it writes the certificate it made to cert.pem for the client to trust.
"$MOCK" --port 0 --seed 1 --tokens "$TMP/tokens.toml" --clock scaled --time-scale "$TLS_SCALE" \
    --tls-self-signed "$TMP/cert.pem" >"$TMP/tls.out" 2>"$TMP/tls.err" &
TLS_PID=$!
TLS_ADDR="$(listening_on "$TMP/tls.out" "$TLS_PID")"
[[ "$TLS_ADDR" == https://* && -s "$TMP/cert.pem" ]] ||
    setup_fail "asr-mock --tls-self-signed did not start (stdout: $(head -c 200 "$TMP/tls.out"))" "$TMP/tls.err"
echo "# asr-mock over TLS at $TLS_ADDR (clock x$TLS_SCALE)"

# ---- checks -------------------------------------------------------------------------------
# Runs one checker, echoes its lines, and counts its PASS/FAIL lines. A checker that exits
# non-zero without reporting a failure (a crash) counts as one failure.
run_checker() {
    local name="$1"
    shift
    local out="$TMP/$name.out" rc=0
    "$@" >"$out" 2>"$TMP/$name.err" || rc=$?
    cat "$out"
    local p f
    p=$(grep -c '^PASS ' "$out" || true)
    f=$(grep -c '^FAIL ' "$out" || true)
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        echo "FAIL $name checker exited $rc"
        tail -n 20 "$TMP/$name.err" | sed 's/^/#   /'
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

run_checker python "$VENV/bin/python" -W ignore scripts/sdk/coze_python_check.py "$ADDR" "$AUDIO_DIR" "$TMP/empty.wav"
run_checker node node scripts/sdk/coze_node_check.mjs "$ADDR" "$AUDIO_DIR" "$TMP/empty.wav" "$NODE_PREFIX"
run_checker node-ws node scripts/sdk/coze_node_ws_check.mjs "$ADDR" "$AUDIO_DIR" "$NODE_PREFIX"
# SSL_CERT_FILE is how the websockets library's default SSL context (and httpx) trust it.
run_checker python-ws env SSL_CERT_FILE="$TMP/cert.pem" "$VENV/bin/python" -W ignore \
    scripts/sdk/coze_python_ws_check.py "$TLS_ADDR" "$AUDIO_DIR" "$TMP/cert.pem" "$TLS_SCALE"
# The metrics of the simulator the SDKs just used, read by Prometheus' own Python parser.
run_checker metrics "$VENV/bin/python" scripts/sdk/metrics_check.py "$ADDR"

# ---- record through the proxy, replay without it -------------------------------------------
# An upstream simulator (its own seed and tokens) stands in for Coze; a second one proxies to
# it with --record; both stop; a third, with another seed and no upstream, replays the folder.
# cozepy and @coze/api run unchanged on both sides.
start_sim() { # name, args...: starts a simulator, sets SIM_PID and SIM_ADDR
    local name="$1"
    shift
    "$MOCK" --port 0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    SIM_PID=$!
    SIM_ADDR="$(listening_on "$TMP/$name.out" "$SIM_PID")"
    [[ "$SIM_ADDR" == http://* ]] || setup_fail "asr-mock ($name) did not start" "$TMP/$name.err"
}
stop_sim() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
start_sim upstream --seed 77 --tokens "$TMP/tokens.toml"
UP_PID=$SIM_PID
start_sim proxy --proxy-coze "$SIM_ADDR" --record "$TMP/rec"
PROXY_PID=$SIM_PID
echo "# recording proxy at $SIM_ADDR"
run_checker record-py "$VENV/bin/python" -W ignore scripts/sdk/record_replay_check.py record "$SIM_ADDR" "$AUDIO_DIR" "$TMP/rec-py.json"
run_checker record-node node scripts/sdk/record_replay_check.mjs record "$SIM_ADDR" "$AUDIO_DIR" "$TMP/rec-node.json" "$NODE_PREFIX"
stop_sim "$PROXY_PID"
stop_sim "$UP_PID"
start_sim replay --seed 5 --fixtures "$TMP/rec/fixtures" --scenarios "$TMP/rec/scenarios"
REPLAY_PID=$SIM_PID
echo "# replaying $TMP/rec at $SIM_ADDR"
run_checker replay-py "$VENV/bin/python" -W ignore scripts/sdk/record_replay_check.py replay "$SIM_ADDR" "$AUDIO_DIR" "$TMP/rec-py.json" "$TMP/rec"
run_checker replay-node node scripts/sdk/record_replay_check.mjs replay "$SIM_ADDR" "$AUDIO_DIR" "$TMP/rec-node.json" "$NODE_PREFIX"
stop_sim "$REPLAY_PID"

still_running() { # pid, name of its log; counts a simulator that died as a failure
    if ! kill -0 "$1" 2>/dev/null; then
        echo "FAIL asr-mock ($2) exited during the checks"
        tail -n 20 "$TMP/$2.err" | sed 's/^/#   /'
        failed=$((failed + 1))
    fi
}
still_running "$MOCK_PID" mock
still_running "$TLS_PID" tls

summary
[[ $failed -eq 0 ]]
