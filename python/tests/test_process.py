"""The simulator's process: it stops with the block, with the interpreter, and (Linux) with
a killed parent; `python -m asr_mock` and the `asr-mock` command run the server."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from asr_mock import AsrMock, AsrMockError, find_asr_mock_bin


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def spawn_python(code: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_block_stops_it() -> None:
    with AsrMock() as mock:
        pid = mock.pid
        assert alive(pid)
    assert not mock.running()
    assert gone_within(pid, 5)
    assert mock.stop() == 0, "a second stop is harmless; SIGTERM is a clean exit"


def test_dropping_the_last_reference_stops_it() -> None:
    mock = AsrMock()
    pid = mock.pid
    del mock
    gc.collect()
    assert gone_within(pid, 5)


def test_interpreter_exit_stops_it() -> None:
    child = spawn_python(
        """
        import asr_mock._process
        from asr_mock import AsrMock
        # Without the kernel's help (PR_SET_PDEATHSIG), so only the exit handler can stop it.
        asr_mock._process._die_with_parent = lambda: None
        mock = AsrMock()              # never stopped by hand
        print(mock.pid, flush=True)
        """
    )
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert gone_within(int(out.strip()), 5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_parent_takes_it_along() -> None:
    child = spawn_python(
        """
        import time
        from asr_mock import AsrMock
        mock = AsrMock()
        print(mock.pid, flush=True)
        time.sleep(60)
        """
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.strip():
        child.kill()
        pytest.fail(f"the child printed no pid: {child.communicate()[1]}")
    pid = int(line)
    assert alive(pid)
    child.send_signal(signal.SIGKILL)  # no atexit, no finalizers: only the kernel can help
    child.wait(timeout=10)
    assert gone_within(pid, 5), f"asr-mock {pid} outlived its killed parent"


def test_a_dead_server_is_reported_as_such() -> None:
    with AsrMock() as mock:
        os.kill(mock.pid, signal.SIGKILL)
        mock._process.popen.wait(5)
        with pytest.raises(AsrMockError, match=r"no answer .*asr-mock exited with code -9"):
            mock.health()


def test_the_binary_is_the_installed_script() -> None:
    binary = Path(find_asr_mock_bin())
    assert binary.parent == Path(sysconfig.get_path("scripts"))
    assert binary.name.startswith("asr-mock")


@pytest.mark.parametrize("command", [[sys.executable, "-m", "asr_mock"], [find_asr_mock_bin()]])
def test_the_command_line_runs_the_server(command: list) -> None:
    version = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=30)
    assert (version.returncode, version.stdout.strip()) == (0, "asr-mock 0.1.0")
    bad = subprocess.run([*command, "--clock", "sideways"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "invalid value 'sideways'" in bad.stderr
    server = subprocess.Popen([*command, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        address = server.stdout.readline().split()[-1]
        assert address.startswith("http://127.0.0.1:")
        # Answered once, so it is serving (and handles SIGTERM) before being stopped.
        with urllib.request.urlopen(f"{address}/__admin/health", timeout=10) as health:
            assert json.load(health)["status"] == "ok"
    finally:
        server.terminate()
        assert server.wait(10) == 0
