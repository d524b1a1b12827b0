#!/usr/bin/env bash
# Fetches GET /__admin/openapi.json from a running simulator (target/debug/asr-mock on a free
# port) and validates it as OpenAPI 3.1 with openapi-spec-validator (pinned, in a venv under
# target/openapi/). That every served route is in it is the `openapi` integration test.
#
#   bash scripts/openapi-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VALIDATOR_VERSION=0.7.2
VENV=target/openapi/venv
TMP="$(mktemp -d)"
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT

if ! "$VENV/bin/python" -c "import openapi_spec_validator" 2>/dev/null ||
    [[ "$(cat "$VENV/.version" 2>/dev/null)" != "$VALIDATOR_VERSION" ]]; then
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV" >"$TMP/pip.log" 2>&1 ||
        { cat "$TMP/pip.log"; echo "FAIL: python venv (Debian: apt-get install python3-venv)"; exit 1; }
    "$VENV/bin/pip" install --disable-pip-version-check --no-input -q \
        "openapi-spec-validator==$VALIDATOR_VERSION" >>"$TMP/pip.log" 2>&1 ||
        { cat "$TMP/pip.log"; echo "FAIL: pip install openapi-spec-validator==$VALIDATOR_VERSION"; exit 1; }
    echo "$VALIDATOR_VERSION" >"$VENV/.version"
fi

cargo build -q -p asr-mock --bin asr-mock
target/debug/asr-mock --port 0 >"$TMP/out" 2>/dev/null &
pid=$!
for _ in $(seq 200); do grep -q listening "$TMP/out" && break; sleep 0.05; done
BASE="$(awk '/listening/ {print $NF}' "$TMP/out")"
[[ -n "$BASE" ]] || { echo "FAIL: the simulator did not start"; exit 1; }

curl -sf "$BASE/__admin/openapi.json" -o "$TMP/openapi.json" ||
    { echo "FAIL: GET $BASE/__admin/openapi.json"; exit 1; }
"$VENV/bin/python" - "$TMP/openapi.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

doc = json.load(open(sys.argv[1]))
assert doc.get("openapi", "").startswith("3.1"), f"not OpenAPI 3.1: {doc.get('openapi')!r}"
validate(doc, cls=OpenAPIV31SpecValidator)
ops = sum(len(item) for item in doc["paths"].values())
print(f"OpenAPI {doc['openapi']}: {len(doc['paths'])} paths, {ops} operations, "
      f"{len(doc['components']['schemas'])} schemas: valid")
PY
