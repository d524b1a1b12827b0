"""`python -m asr_mock [FLAGS]`: runs the bundled server exactly as the `asr-mock` command
does (same flags, output and exit code)."""

from __future__ import annotations

import os
import subprocess
import sys

from ._binary import find_asr_mock_bin


def main() -> int:
    try:
        binary = find_asr_mock_bin()
    except FileNotFoundError as e:
        print(f"asr-mock: {e}", file=sys.stderr)
        return 2
    argv = [binary, *sys.argv[1:]]
    if os.name == "posix":
        # Become the server: signals, exit code and stdout are its own.
        os.execv(binary, argv)
    try:
        return subprocess.run(argv).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
