#!/usr/bin/env bash
# Builds the Python wheel (python/, maturin, release) and proves it works from a fresh
# virtual environment: the size limit, what the wheel holds, then the example suite
# (python/tests: cozepy unchanged, the icu flow, the pytest plugin, the process life cycle)
# against the binary the wheel installed; last, `pip install ./python` from the checkout.
#
#   bash scripts/python-check.sh          # from anywhere in the repo
#
# Everything goes under target/python-check/ (venvs made fresh on every run, the wheel).
# Prints one PASS/FAIL line per check and `N passed, M failed`; exits non-zero on a failure.
#
# Environment:
#   PYTHON   interpreter for the venvs (default python3; Debian: apt-get install python3-venv)
set -euo pipefail
# shellcheck source=scripts/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

MATURIN_VERSION=1.16.0
COZEPY_VERSION=0.20.0
PYTEST_VERSION=9.2.0
MAX_WHEEL_BYTES=$((15 * 1024 * 1024))

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/target/python-check"
WHEELS="$WORK/wheels"
PY="${PYTHON:-python3}"

# The suite must use the wheel's binary, whatever the caller's shell points at.
unset ASR_MOCK_BIN

fresh_venv() { # fresh_venv DIR LOG
    rm -rf "$1"
    "$PY" -m venv "$1" >>"$2" 2>&1 || setup_fail "python venv at $1 (needs python3 with venv)" "$2"
}
pip_install() { # pip_install VENV LOG ARGS...
    local venv="$1" log="$2"
    shift 2
    "$venv/bin/pip" install --disable-pip-version-check --no-input -q "$@" >>"$log" 2>&1
}

mkdir -p "$WORK"
rm -rf "$WHEELS"

# ---- build --------------------------------------------------------------------------------
BUILD_LOG="$WORK/build.log"
: >"$BUILD_LOG"
fresh_venv "$WORK/build-venv" "$BUILD_LOG"
pip_install "$WORK/build-venv" "$BUILD_LOG" "maturin==$MATURIN_VERSION" || setup_fail "pip install maturin==$MATURIN_VERSION" "$BUILD_LOG"
build_start=$SECONDS
(cd python && "$WORK/build-venv/bin/maturin" build --release --out "$WHEELS") >>"$BUILD_LOG" 2>&1 ||
    setup_fail "maturin build --release" "$BUILD_LOG"
shopt -s nullglob
wheels=("$WHEELS"/asr_mock-*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || setup_fail "one wheel expected in $WHEELS, found ${#wheels[@]}" "$BUILD_LOG"
WHEEL="${wheels[0]}"
pass "maturin build --release: $(basename "$WHEEL") in $((SECONDS - build_start)) s"

size=$(stat -c %s "$WHEEL")
if [[ $size -le $MAX_WHEEL_BYTES ]]; then
    pass "wheel size $size bytes <= $MAX_WHEEL_BYTES (15 MiB)"
else
    fail "wheel size $size bytes > $MAX_WHEEL_BYTES (15 MiB)"
fi

# What the wheel must hold: the binary as a script, the typed package, the pytest entry
# point, and no runtime dependency.
if contents="$("$PY" - "$WHEEL" <<'EOF' 2>&1
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
wheel = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
problems = []
for needed in ("asr_mock/__init__.py", "asr_mock/py.typed", "asr_mock/pytest_plugin.py", "asr_mock/__main__.py"):
    if needed not in names:
        problems.append(f"no {needed}")
if not any(n.endswith(".data/scripts/asr-mock") for n in names):
    problems.append("no .data/scripts/asr-mock binary")
if "Requires-Dist" in wheel.read(meta).decode():
    problems.append("it declares a runtime dependency")
if "asr_mock=asr_mock.pytest_plugin" not in wheel.read(entry).decode().replace(" ", ""):
    problems.append("no pytest11 entry point")
print("; ".join(problems) or f"{len(names)} files")
sys.exit(1 if problems else 0)
EOF
)"; then
    pass "wheel holds the binary, py.typed, the pytest11 entry point, no dependency ($contents)"
else
    fail "wheel contents: $contents"
fi

# The README's complete test is the file CI runs, letter for letter.
if "$PY" - README.md python/tests/test_readme_example.py <<'EOF'
import sys
readme, example = (open(p, encoding="utf-8").read() for p in sys.argv[1:])
section = readme.split("### From Python", 1)[-1]
block = section.split("```python\n", 1)[-1].split("```", 1)[0]
sys.exit(0 if block == example else 1)
EOF
then
    pass "README's From Python test is python/tests/test_readme_example.py"
else
    fail "README's From Python test differs from python/tests/test_readme_example.py"
fi

# ---- install into a fresh venv and run the example suite ----------------------------------
TEST_LOG="$WORK/test-install.log"
: >"$TEST_LOG"
TEST_VENV="$WORK/test-venv"
fresh_venv "$TEST_VENV" "$TEST_LOG"
if pip_install "$TEST_VENV" "$TEST_LOG" "$WHEEL" "cozepy==$COZEPY_VERSION" "pytest==$PYTEST_VERSION"; then
    pass "pip install the wheel, cozepy==$COZEPY_VERSION and pytest==$PYTEST_VERSION into a fresh venv"
else
    setup_fail "pip install the wheel, cozepy and pytest" "$TEST_LOG"
fi

# From outside python/, so `import asr_mock` can only find the installed package.
where="$(cd "$WORK" && { "$TEST_VENV/bin/python" -c 'import asr_mock; print(asr_mock.__file__)' 2>&1 || true; })"
if [[ "$where" == "$TEST_VENV"/* ]]; then
    pass "asr_mock imports from the venv ($where)"
else
    fail "asr_mock imports from $where, not the venv"
fi

pytest_rc=0
(cd python && "$TEST_VENV/bin/python" -m pytest tests -p no:cacheprovider -q -rfE) || pytest_rc=$?
if [[ $pytest_rc -eq 0 ]]; then
    pass "python/tests (cozepy, icu flow, plugin, process life cycle) against the installed wheel"
else
    # 5 (no test collected) is a failure too.
    fail "python/tests exited $pytest_rc"
fi

echo "# start-up benchmark (information, not a check):"
"$TEST_VENV/bin/python" python/bench_startup.py 20 | sed 's/^/#   /' || true

# ---- pip install ./python: the source install a checkout offers --------------------------
SRC_LOG="$WORK/source-install.log"
: >"$SRC_LOG"
SRC_VENV="$WORK/source-venv"
fresh_venv "$SRC_VENV" "$SRC_LOG"
src_start=$SECONDS
if pip_install "$SRC_VENV" "$SRC_LOG" ./python &&
    (cd "$WORK" && "$SRC_VENV/bin/python" -c '
from asr_mock import AsrMock
with AsrMock(seed=3) as mock:
    assert mock.health()["seed"] == 3
') >>"$SRC_LOG" 2>&1 &&
    [[ "$("$SRC_VENV/bin/asr-mock" --version 2>>"$SRC_LOG")" == "asr-mock "* ]]; then
    pass "pip install ./python builds and installs it (asr-mock command, AsrMock) in $((SECONDS - src_start)) s"
else
    fail "pip install ./python"
    tail -n 30 "$SRC_LOG" | sed 's/^/#   /'
fi

summary
[[ $failed -eq 0 ]]
