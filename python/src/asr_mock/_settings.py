"""Turns `AsrMock(**settings)` keywords into the binary's command-line flags."""

from __future__ import annotations

import datetime
import os
import re
from typing import Any, Mapping

__all__ = ["settings_to_args"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: Set by AsrMock itself: the helpers talk to the simulator over loopback.
_RESERVED = {
    "host": "AsrMock always binds 127.0.0.1 (the control API is used over loopback); "
    "run the asr-mock command to serve on another address",
}


def _value_text(name: str, value: Any) -> str:
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        return text
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError(f"setting {name!r}: give a timezone-aware datetime (RFC 3339 needs an offset)")
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"setting {name!r}: {type(value).__name__} is not a flag value (use str, a path, int or float)")


def settings_to_args(settings: Mapping[str, Any]) -> list[str]:
    """`seed=7, clock="manual", allowed_host=["a", "b"], ws_auth_handshake=True` becomes
    `--seed=7 --clock=manual --allowed-host=a --allowed-host=b --ws-auth-handshake`.

    `True` gives the bare flag, `False` and `None` leave it out, a list or tuple repeats it.
    Values are attached with `=`, so one that starts with `-` stays a value. The binary
    checks names and values itself; its message comes back from `AsrMock(...)`.
    """
    args: list[str] = []
    for name, value in settings.items():
        if not _NAME.match(name):
            raise ValueError(f"setting {name!r} is not a flag name (lower case, `_` for `-`, e.g. coze_model)")
        if name in _RESERVED:
            raise ValueError(f"setting {name!r} cannot be set: {_RESERVED[name]}")
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for one in values:
            args.append(f"{flag}={_value_text(name, one)}")
    return args
