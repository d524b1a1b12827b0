"""Start-up benchmark: how long `AsrMock()` takes from the call to its first answered
request, against the 100 ms goal; the bare binary beside it shows what the Python side adds.

    python python/bench_startup.py [RUNS]        # default 50; needs the package installed

A figure for the README, not a test: it prints the numbers and a verdict and exits 0.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import sys
import time
from typing import Callable, List

from asr_mock import AsrMock, find_asr_mock_bin

GOAL_MS = 100.0


def python_start() -> float:
    """`AsrMock()` returns once `/__admin/health` has answered (it asks once itself)."""
    started = time.perf_counter()
    mock = AsrMock()
    elapsed = time.perf_counter() - started
    mock.stop()
    return elapsed * 1000


def bare_start(binary: str) -> float:
    """The binary alone: spawn, read the address line, one health request."""
    started = time.perf_counter()
    process = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/__admin/health")
        if connection.getresponse().status != 200:
            raise RuntimeError("health did not answer 200")
        elapsed = time.perf_counter() - started
        connection.close()
    finally:
        process.terminate()
        process.wait()
    return elapsed * 1000


def measure(runs: int, start: Callable[[], float]) -> List[float]:
    start()  # warm the page cache and the imports
    return sorted(start() for _ in range(runs))


def p90(sorted_ms: List[float]) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(round(0.9 * (len(sorted_ms) - 1))))]


def main(argv: List[str]) -> int:
    runs = int(argv[1]) if len(argv) > 1 else 50
    if runs < 1:
        print("RUNS must be at least 1", file=sys.stderr)
        return 2
    binary = find_asr_mock_bin()
    print(f"# {runs} runs each, {binary}")
    rows = [
        ("AsrMock() -> first health answer", measure(runs, python_start)),
        ("bare binary -> first health answer", measure(runs, lambda: bare_start(binary))),
    ]
    print(f"{'measure':<38}{'median':>10}{'p90':>10}{'max':>10}{'goal':>10}")
    for (name, ms), goal in zip(rows, (f"{GOAL_MS:.0f}ms", "-")):
        print(f"{name:<38}{statistics.median(ms):>8.1f}ms{p90(ms):>8.1f}ms{ms[-1]:>8.1f}ms{goal:>10}")
    median = statistics.median(rows[0][1])
    verdict = "within" if median <= GOAL_MS else "OVER"
    print(f"# AsrMock() median {median:.1f} ms: {verdict} the {GOAL_MS:.0f} ms goal")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
