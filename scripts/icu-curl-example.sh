#!/usr/bin/env bash
# Provider B's whole flow with nothing but curl: submit a recording, poll it, and read the
# callback it sent. Runs against $ASR_MOCK_URL, or starts target/debug/asr-mock itself.
# The callback goes to the simulator's own receiver (/__admin/sink), and the clock is moved
# with /__admin/clock/advance instead of waiting for the queue and the recognition.
#
#   bash scripts/icu-curl-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BASE="${ASR_MOCK_URL:-}"
if [[ -z "$BASE" ]]; then
    cargo build -q -p asr-mock
    out="$(mktemp)"
    target/debug/asr-mock --port 0 >"$out" 2>/dev/null &
    pid=$!
    trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
    for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
    BASE="$(awk '/listening/ {print $NF}' "$out")"
fi
echo "# simulator at $BASE"

step() { printf '\n$ %s\n' "$1"; }
expect() { # expect NAME TEXT PATTERN
    if ! grep -q -- "$3" <<<"$2"; then echo "FAIL: $1: no '$3' in: $2"; exit 1; fi
}

DATA="$(base64 -w0 mock-server/tests/fixtures/audio/speech-cmn-16k.wav)"
step "submit (JSON, inline audio, callback to the built-in sink)"
SUBMIT="$(curl -s "$BASE/openapi/asr/voiceToText" \
    -H 'Content-Type: application/json;charset=utf-8' \
    -d "{\"EngineModelType\":\"16k_zh\",\"ChannelNum\":\"1\",\"ResTextFormat\":\"0\",\"SourceType\":\"1\",\"Data\":\"$DATA\",\"CallbackUrl\":\"$BASE/__admin/sink\"}")"
echo "$SUBMIT"
expect submit "$SUBMIT" '"code":0'
TASK_ID="$(sed -E 's/.*"TaskId":([0-9]+).*/\1/' <<<"$SUBMIT")"

step "poll right away: waiting"
POLL="$(curl -s "$BASE/openapi/asr/searchResult?TaskId=$TASK_ID")"
echo "$POLL"
expect waiting "$POLL" '"StatusStr":"waiting"'

step "move the simulator clock 10 s on (instead of waiting)"
curl -s -X POST "$BASE/__admin/clock/advance" -H 'Content-Type: application/json' -d '{"seconds":10}'
echo

step "poll again: success, with the Result text"
POLL="$(curl -s -X POST "$BASE/openapi/asr/searchResult" -H 'Content-Type: application/json' -d "{\"TaskId\":\"$TASK_ID\"}")"
echo "$POLL"
expect success "$POLL" '"StatusStr":"success"'

step "the callback the simulator sent (form body, acknowledged by the sink)"
for _ in $(seq 50); do
    SINK="$(curl -s "$BASE/__admin/sink")"
    grep -q "requestId=$TASK_ID" <<<"$SINK" && break
    sleep 0.1
done
echo "$SINK"
expect callback "$SINK" "code=0&requestId=$TASK_ID&appid=12516&projectid=0&text="
ATTEMPTS="$(curl -s "$BASE/__admin/callbacks?task_id=$TASK_ID")"
expect acknowledged "$ATTEMPTS" '"acknowledged":true'
echo
echo "# the submit → poll → callback example works"
