"""Finds the `asr-mock` binary that this package's wheel installed next to it."""

from __future__ import annotations

import os
import sys
import sysconfig

__all__ = ["find_asr_mock_bin"]

#: Set to a path to use that binary instead of the bundled one (a local cargo build, say).
BIN_ENV = "ASR_MOCK_BIN"


def _exe_name() -> str:
    return "asr-mock" + (sysconfig.get_config_var("EXE") or "")


def _user_scheme() -> str:
    if sys.version_info >= (3, 10):
        return sysconfig.get_preferred_scheme("user")
    if os.name == "nt":
        return "nt_user"
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        return "osx_framework_user"
    return "posix_user"


def _candidates() -> list[str]:
    """Where pip puts a wheel's scripts, in the order ruff's `find_ruff_bin` looks."""
    exe = _exe_name()
    found = [os.path.join(sysconfig.get_path("scripts"), exe)]
    try:
        # `pip install --user`
        found.append(os.path.join(sysconfig.get_path("scripts", scheme=_user_scheme()), exe))
    except KeyError:  # a Python built without that scheme
        pass
    # `pip install --target DIR`: scripts land in DIR/bin, beside the package.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found.append(os.path.join(package_root, "bin", exe))
    return found


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_asr_mock_bin() -> str:
    """The path of the `asr-mock` binary to run.

    `$ASR_MOCK_BIN` when set (it must name an executable file), else the binary this
    package's wheel installed into the interpreter's scripts directory (also for
    `pip install --user` and `pip install --target`).

    Raises:
        FileNotFoundError: no binary, with every place looked at.
    """
    override = os.environ.get(BIN_ENV)
    if override:
        if not _is_executable(override):
            raise FileNotFoundError(f"${BIN_ENV} is {override!r}, which is not an executable file")
        return override
    looked = _candidates()
    for path in looked:
        if _is_executable(path):
            return path
    raise FileNotFoundError(
        "the asr-mock binary is not installed next to this package (looked at "
        + ", ".join(looked)
        + f"); reinstall the asr-mock wheel, or set ${BIN_ENV} to a binary"
    )
