# Shared by the check scripts (sourced): PASS/FAIL lines, their count and the closing summary.
# shellcheck shell=bash

START=$SECONDS
passed=0
failed=0

pass() {
    echo "PASS $*"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

summary() {
    echo "# took $((SECONDS - START)) s"
    echo "$passed passed, $failed failed"
}

# A step the rest depends on failed: say why, show the end of its log, and stop.
setup_fail() {
    local what="$1" log="${2:-}"
    fail "setup: $what"
    if [[ -n "$log" && -f "$log" ]]; then
        tail -n 40 "$log" | sed 's/^/#   /'
    fi
    summary
    exit 1
}
