#!/usr/bin/env bash
# Soak test: asr-mock under slow clients, a hanging callback receiver and concurrent Url
# downloads at the same time, with its resident memory sampled every 3 s and a verdict
# (memory flat after warm-up, health checks answered, slow clients cut, no panic).
#
#   bash scripts/soak.sh            # 90 s against target/debug/asr-mock (built if needed)
#   SOAK_SECONDS=600 ASR_MOCK_BIN=target/release/asr-mock bash scripts/soak.sh
#
# Needs python3 (standard library only). Exits non-zero when the verdict is FAIL.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${ASR_MOCK_BIN:-}"
if [[ -z "$BIN" ]]; then
  cargo build -q -p asr-mock
  BIN="$ROOT/target/debug/asr-mock"
fi
exec python3 -B scripts/soak/soak.py "$BIN" "${SOAK_SECONDS:-90}"
