"""The simulator's child process: start it, read the address it prints, keep a bounded tail
of its output, and make sure it never outlives us."""

from __future__ import annotations

import collections
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import weakref
from typing import IO, Callable, Deque, List, Mapping, Optional, Sequence

from ._errors import AsrMockStartError

__all__ = ["ServerProcess"]

_LISTENING = re.compile(r"^asr-mock listening on (https?://\S+)$")
#: Lines of output kept for error messages, and the longest line kept whole.
_TAIL_LINES = 200
_LINE_BYTES = 4096
#: How long a stop waits for a graceful exit (SIGTERM) before killing.
_STOP_GRACE = 5.0

#: prctl(2) option: the signal the kernel sends us when our parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Optional[Callable[[], None]]:
    """On Linux, a preexec hook asking the kernel to send SIGTERM to the child when its
    parent dies, so a killed test run (SIGKILL, OOM) leaves no simulator behind.

    The kernel watches the parent *thread*: start the simulator from a thread that lives
    as long as it should (pytest fixtures run in the main thread)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork
    except (OSError, AttributeError, ImportError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # The parent died between fork and prctl: nobody would send the signal.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def _terminate(popen: "subprocess.Popen[bytes]", owner_pid: int) -> None:
    """SIGTERM (a graceful shutdown that saves `--state-file`), then SIGKILL after a grace
    period. Only the process that started the simulator stops it: a forked child running
    its own exit handlers must not."""
    if os.getpid() != owner_pid or popen.poll() is not None:
        return
    try:
        popen.terminate()
        popen.wait(_STOP_GRACE)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()
    except OSError:
        pass


def _drain(pipe: IO[bytes], tail: Deque[str], first_line: "Optional[queue.Queue[Optional[str]]]") -> None:
    """Reads a pipe to its end, so the child never blocks on a full one, keeping the last
    lines in `tail`; the first line goes to `first_line` (the address, on stdout). A
    function, not a method: the thread must not keep the ServerProcess alive."""
    with pipe:
        while True:
            chunk = pipe.readline(_LINE_BYTES)
            if not chunk:
                break
            line = chunk.decode("utf-8", "replace").rstrip("\r\n")
            if first_line is not None:
                first_line.put(line)
                first_line = None
            else:
                tail.append(line)
    if first_line is not None:
        first_line.put(None)  # ended before saying where it listens


class ServerProcess:
    """A started `asr-mock`: `base_url` is what it printed; `stop()` ends it.

    Also stopped when garbage-collected and at interpreter exit (`weakref.finalize`), and on
    Linux by the kernel when this process dies."""

    def __init__(self, argv: Sequence[str], *, env: Optional[Mapping[str, str]], startup_timeout: float) -> None:
        self._tail: Deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._first_line: "queue.Queue[Optional[str]]" = queue.Queue(maxsize=1)
        started = time.monotonic()
        try:
            self.popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env) if env is not None else None,
                preexec_fn=_die_with_parent(),
                close_fds=True,
            )
        except OSError as e:
            raise AsrMockStartError(f"cannot run {argv[0]}: {e}") from e
        self._finalizer = weakref.finalize(self, _terminate, self.popen, os.getpid())
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self._readers = [
            threading.Thread(target=_drain, args=(self.popen.stdout, self._tail, self._first_line), daemon=True),
            threading.Thread(target=_drain, args=(self.popen.stderr, self._tail, None), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.base_url = self._await_address(startup_timeout - (time.monotonic() - started))

    def _await_address(self, timeout: float) -> str:
        try:
            line = self._first_line.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            self.stop()
            raise AsrMockStartError(f"asr-mock printed no address within {timeout:.1f} s{self._tail_note()}") from None
        match = _LISTENING.match(line) if line is not None else None
        if match:
            return match.group(1)
        if line is None:
            code = self._wait_exit()
            raise AsrMockStartError(f"asr-mock exited with code {code} before listening{self._tail_note()}")
        self.stop()
        raise AsrMockStartError(f"asr-mock printed {line!r} instead of its address{self._tail_note()}")

    def _wait_exit(self) -> Optional[int]:
        try:
            code = self.popen.wait(_STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.stop()
            code = self.popen.returncode
        self._join_readers()
        return code

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=1.0)

    def _tail_note(self) -> str:
        lines = self.output()
        return (": " + " | ".join(lines[-20:])) if lines else ""

    def output(self) -> List[str]:
        """The last lines the simulator wrote (its logs), oldest first."""
        return list(self._tail)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def describe_exit(self) -> str:
        """Why a call got no answer, if the process is the reason."""
        code = self.popen.poll()
        if code is None:
            return ""
        self._join_readers()
        return f"asr-mock exited with code {code}{self._tail_note()}"

    def stop(self) -> Optional[int]:
        """Stops the simulator (idempotent) and returns its exit code."""
        self._finalizer()
        self._join_readers()
        return self.popen.returncode
