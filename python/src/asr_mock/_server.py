"""`AsrMock`: the bundled simulator on a free loopback port, with typed helpers over its
control API."""

from __future__ import annotations

import datetime
import hashlib
import math
import os
import ssl
from types import TracebackType
from typing import Any, Dict, List, Mapping, Optional, Type, Union

from ._binary import find_asr_mock_bin
from ._control import Control
from ._errors import AsrMockError, AsrMockStartError
from ._process import ServerProcess
from ._settings import settings_to_args

__all__ = ["AsrMock", "Json"]

#: A JSON object as the control API sends it (plain `dict`, keys as in the README).
Json = Dict[str, Any]

#: A `since` bound: epoch milliseconds, RFC 3339 text, or an aware `datetime`.
Since = Union[int, str, datetime.datetime]

_STATUSES = ("waiting", "doing", "success", "failed")
_HASH_CHUNK = 1 << 20


def _task_id(task_id: Union[int, str]) -> str:
    """TaskIds are unsigned 64-bit integers (some above 2^53): ints or digit strings."""
    if isinstance(task_id, bool) or not isinstance(task_id, (int, str)):
        raise TypeError(f"task_id must be an int or a digit string, not {type(task_id).__name__}")
    text = str(task_id)
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"task_id {task_id!r} is not a TaskId (an unsigned 64-bit integer)")
    return text


def _sha256_of(path: "Union[str, os.PathLike[str]]") -> str:
    """Hashes the file in chunks: the server keys fixtures by SHA-256, so a large
    recording need not travel as base64 through the control API's 20 MB body limit."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class AsrMock:
    """The bundled `asr-mock` binary, started on `127.0.0.1` and a free port.

    Settings are the binary's flags by name, `_` for `-`: `seed=7`, `clock="manual"`,
    `scenarios="my-scenarios/"`, `fixtures=…`, `tokens="tokens.toml"`, `coze_model="small"`,
    `icu_progress="polls"`, `allowed_host=["a", "b"]` (repeated), `ws_auth_handshake=True`
    (a switch). `ASR_MOCK_*` environment variables fill in what is not given, as for the
    binary. The process starts in the constructor, which returns once it answers, and
    stops on `stop()`, at the end of a `with` block, at interpreter exit, and on Linux when
    this process dies.

    Helpers return the control API's JSON as plain `dict`s and `list`s, with the keys the
    README's control API section names; list endpoints return the list itself. Every
    refusal raises `AsrMockError` with the server's message and HTTP status.

    Args:
        binary: the binary to run; default `$ASR_MOCK_BIN`, else the one this wheel
            installed.
        startup_timeout: seconds to wait for the address line.
        env: the child's environment (default: this process's).
        **settings: the binary's flags (see above). `port` defaults to 0 (a free port);
            `host` cannot be set.

    Raises:
        AsrMockStartError: the binary is missing or stopped at start-up (its message
            included: a bad setting, an unreadable file).
    """

    def __init__(
        self,
        *,
        binary: Optional[str] = None,
        startup_timeout: float = 10.0,
        env: Optional[Dict[str, str]] = None,
        **settings: Any,
    ) -> None:
        settings.setdefault("port", 0)
        flags = settings_to_args(settings)
        self.settings: Dict[str, Any] = dict(settings)
        if binary is None:
            try:
                binary = find_asr_mock_bin()
            except FileNotFoundError as e:
                raise AsrMockStartError(str(e)) from e
        argv = [binary, "--host=127.0.0.1", *flags]
        source_env = env if env is not None else os.environ
        # Plain log lines in `output()` and error messages, not terminal colours.
        child_env = {"NO_COLOR": "1", **source_env}
        self._process = ServerProcess(argv, env=child_env, startup_timeout=startup_timeout)
        #: The simulator's address, `http://127.0.0.1:PORT` (`https://` with TLS settings).
        self.base_url: str = self._process.base_url
        token = settings.get("admin_token") or source_env.get("ASR_MOCK_ADMIN_TOKEN")
        self._control = Control(
            self.base_url,
            admin_token=str(token) if token else None,
            ssl_context=self._ssl_context(),
            describe_failure=self._process.describe_exit,
        )
        # One answer before returning: the server is serving, and its SIGTERM handler (set up
        # once it runs) is in place, so an immediate stop() is still a clean shutdown.
        try:
            self.health()
        except AsrMockError as e:
            self._process.stop()
            raise AsrMockStartError(f"asr-mock printed its address but did not answer: {e}") from e

    def _ssl_context(self) -> Optional[ssl.SSLContext]:
        """With TLS, trust the certificate the simulator serves (self-signed or given)."""
        if not self.base_url.startswith("https://"):
            return None
        cert = self.settings.get("tls_self_signed") or self.settings.get("tls_cert")
        return ssl.create_default_context(cafile=os.fspath(cert)) if cert else None

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> "AsrMock":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def stop(self) -> Optional[int]:
        """Stops the simulator (SIGTERM, then SIGKILL after 5 s); returns its exit code.
        Calling it again does nothing."""
        return self._process.stop()

    @property
    def pid(self) -> int:
        """The simulator's process id."""
        return self._process.pid

    def running(self) -> bool:
        """Whether the process is still alive."""
        return self._process.running()

    def output(self) -> List[str]:
        """The last 200 lines the simulator logged (stderr), oldest first."""
        return self._process.output()

    def __repr__(self) -> str:
        state = "running" if self.running() else "stopped"
        return f"AsrMock(base_url={self.base_url!r}, pid={self.pid}, {state})"

    # -- the control API -------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Optional[Json] = None,
        query: Optional[Dict[str, Any]] = None,
    ) -> Any:
        """Any control-API route the helpers below do not cover, e.g.
        `call("GET", "/__admin/sink")`: sends `body` as JSON, returns the decoded answer."""
        if not path.startswith("/__admin/"):
            raise ValueError(f"{path!r} is not a control-API path (they start with /__admin/)")
        return self._control.call(method, path, body, query)

    def _object(
        self,
        method: str,
        path: str,
        body: Optional[Json] = None,
        query: Optional[Dict[str, Any]] = None,
    ) -> Json:
        answer = self.call(method, path, body, query)
        if not isinstance(answer, dict):
            raise AsrMockError(f"expected a JSON object, got {answer!r:.200}", method=method, path=path)
        return answer

    def _items(self, path: str, key: str, query: Optional[Dict[str, Any]]) -> List[Json]:
        items = self._object("GET", path, query=query).get(key)
        if not isinstance(items, list):
            raise AsrMockError(f"the answer has no {key!r} list", method="GET", path=path)
        return items

    def health(self) -> Json:
        """`GET /__admin/health`: `status`, `version`, `seed`, `now_ms` (simulated time),
        `fixtures`, `icu_tasks`, `callbacks_pending`."""
        return self._object("GET", "/__admin/health")

    def reset(self) -> Json:
        """`POST /__admin/reset`: forgets the journal, API-registered fixtures, tasks,
        callbacks, hosted audio, scenario activations and counters (not the clock or the
        settings). Returns `{"reset": True}`."""
        return self._object("POST", "/__admin/reset")

    def advance(self, seconds: Union[float, datetime.timedelta]) -> Json:
        """`POST /__admin/clock/advance`: moves simulated time on (any clock mode); tasks and
        callbacks due by then happen. Returns the clock: `now_ms`, `now` (RFC 3339), `mode`."""
        if isinstance(seconds, datetime.timedelta):
            seconds = seconds.total_seconds()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"seconds must be a number or a timedelta, not {type(seconds).__name__}")
        if not math.isfinite(seconds):
            raise ValueError(f"seconds must be finite, got {seconds!r}")
        return self._object("POST", "/__admin/clock/advance", {"seconds": seconds})

    def activate(self, name: str, token: Optional[str] = None) -> Json:
        """`POST /__admin/scenarios/activate`: scenario `name` for every request, or only
        for requests bearing `token`. Returns what is active: `global` (names) and
        `by_token` (token → names)."""
        return self._object("POST", "/__admin/scenarios/activate", _activation(name, token))

    def deactivate(self, name: str, token: Optional[str] = None) -> Json:
        """`POST /__admin/scenarios/deactivate`: undoes `activate(name, token)` (a 404
        `AsrMockError` if it is not active). Returns what is active, as `activate`."""
        return self._object("POST", "/__admin/scenarios/deactivate", _activation(name, token))

    def tasks(self, *, status: Optional[str] = None, limit: Optional[int] = None) -> List[Json]:
        """`GET /__admin/tasks`: icu tasks, newest first (the server's default limit is
        100), optionally only those in `status` (waiting, doing, success, failed). Each a
        dict with `task_id`, `status`, … as the README lists."""
        if status is not None and status not in _STATUSES:
            raise ValueError(f"status {status!r}: use one of {', '.join(_STATUSES)}")
        return self._items("/__admin/tasks", "tasks", {"status": status, "limit": limit})

    def task(self, task_id: Union[int, str]) -> Json:
        """`GET /__admin/tasks/{id}`: one task: `task_id`, `status` (what a poll would show
        now, without counting as one), `task` (plan, outcome, polls) and `callbacks` (its
        delivery attempts). A 404 `AsrMockError` for an unknown id."""
        return self._object("GET", f"/__admin/tasks/{_task_id(task_id)}")

    def transition(
        self,
        task_id: Union[int, str],
        status: str,
        code: Optional[int] = None,
        message: Optional[str] = None,
    ) -> Json:
        """`POST /__admin/tasks/{id}/transition`: moves a task forward to `status` (doing,
        success or failed); `code` (10000–10007, default 10001) and `message` only with
        failed. A 409 `AsrMockError` for a backward move. Returns `task_id` and `status`."""
        body: Json = {"status": status}
        if code is not None:
            body["code"] = code
        if message is not None:
            body["message"] = message
        return self._object("POST", f"/__admin/tasks/{_task_id(task_id)}/transition", body)

    def callbacks(self, task_id: Optional[Union[int, str]] = None) -> List[Json]:
        """`GET /__admin/callbacks`: every callback attempt (of one task with `task_id`):
        dicts with the time, `url`, `body`, status, answer, latency, error and whether it was
        acknowledged. Deliveries still pending are counted in `health()`."""
        query = {"task_id": _task_id(task_id)} if task_id is not None else None
        return self._items("/__admin/callbacks", "attempts", query)

    def requests(self, limit: Optional[int] = None) -> List[Json]:
        """`GET /__admin/requests`: the newest `limit` journal entries (server default 100):
        method, path, status, provider code, logid; streaming sessions once ended."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit must be an int >= 0, got {limit!r}")
        return self._items("/__admin/requests", "requests", {"limit": limit})

    def find(
        self,
        *,
        provider: Optional[str] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
        path_pattern: Optional[str] = None,
        header: Optional[Mapping[str, str]] = None,
        parameter: Optional[Mapping[str, str]] = None,
        status: Optional[int] = None,
        code: Optional[int] = None,
        scenario: Optional[str] = None,
        since: Optional[Since] = None,
        limit: Optional[int] = None,
    ) -> List[Json]:
        """`POST /__admin/requests/find`: the newest journal entries (at most `limit`, server
        default 100), oldest first, that match every field given (none: all):

        - `provider` ("coze" or "icu"), `method` (any case);
        - `path` (exact) and/or `path_pattern` (a regular expression the whole path matches);
        - `header`: name → exact value as journaled (names in any case; credentials in their
          redacted form, e.g. `{"authorization": "Bearer …1234"}`);
        - `parameter`: name → exact value, of the query string or icu's body parameters;
        - `status` (HTTP) and `code` (the provider's code in the answer);
        - `scenario`: a scenario that applied;
        - `since`: epoch milliseconds, RFC 3339 text or an aware `datetime`, on the
          simulator's clock (inclusive).

        Each entry has `method`, `path`, `query`, `headers`, `body` (a summary: multipart
        `parts` with `name`, `filename`, `content_type`, `size`, `sha256`; icu `params` with
        `Data` as `{"size", "sha256"}`; or the start of other bodies as `text`), `status`,
        `code`, `scenarios`, `time_ms`. A bad field raises `AsrMockError` (HTTP 400) naming it."""
        body = _matcher(provider, method, path, path_pattern, header, parameter, status, code, scenario, since)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"limit must be an int >= 1, got {limit!r}")
            body["limit"] = limit
        items = self._object("POST", "/__admin/requests/find", body).get("requests")
        if not isinstance(items, list):
            raise AsrMockError("the answer has no 'requests' list", method="POST", path="/__admin/requests/find")
        return items

    def count(
        self,
        *,
        provider: Optional[str] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
        path_pattern: Optional[str] = None,
        header: Optional[Mapping[str, str]] = None,
        parameter: Optional[Mapping[str, str]] = None,
        status: Optional[int] = None,
        code: Optional[int] = None,
        scenario: Optional[str] = None,
        since: Optional[Since] = None,
    ) -> int:
        """`POST /__admin/requests/count`: how many journal entries match every field given,
        with the fields of `find()` (without `limit`)."""
        body = _matcher(provider, method, path, path_pattern, header, parameter, status, code, scenario, since)
        count = self._object("POST", "/__admin/requests/count", body).get("count")
        if isinstance(count, bool) or not isinstance(count, int):
            raise AsrMockError(f"the answer has no count: {count!r}", method="POST", path="/__admin/requests/count")
        return count

    def add_fixture(
        self,
        text: str,
        audio_path: "Optional[Union[str, os.PathLike[str]]]" = None,
        sha256: Optional[str] = None,
    ) -> Json:
        """`POST /__admin/fixtures`: both providers answer `text` for this audio, given as a
        file (`audio_path`, hashed here) or by its SHA-256 (exactly one). Lasts until
        `reset()`. Returns `{"sha256": "…"}`, the fixture's key."""
        if (audio_path is None) == (sha256 is None):
            raise ValueError("give exactly one of audio_path and sha256")
        digest = _sha256_of(audio_path) if audio_path is not None else sha256
        return self._object("POST", "/__admin/fixtures", {"sha256": digest, "text": text})


def _matcher(
    provider: Optional[str],
    method: Optional[str],
    path: Optional[str],
    path_pattern: Optional[str],
    header: Optional[Mapping[str, str]],
    parameter: Optional[Mapping[str, str]],
    status: Optional[int],
    code: Optional[int],
    scenario: Optional[str],
    since: Optional[Since],
) -> Json:
    """The matcher's JSON, with only the fields given (the server checks the values)."""
    body: Json = {}
    for key, value in (
        ("provider", provider),
        ("method", method),
        ("path", path),
        ("pathPattern", path_pattern),
        ("status", status),
        ("code", code),
        ("scenario", scenario),
    ):
        if value is not None:
            body[key] = value
    if header:
        body["header"] = dict(header)
    if parameter:
        body["parameter"] = dict(parameter)
    if isinstance(since, datetime.datetime):
        if since.tzinfo is None:
            raise ValueError("since must be an aware datetime (with a tzinfo)")
        body["since"] = since.isoformat()
    elif since is not None:
        body["since"] = since
    return body


def _activation(name: str, token: Optional[str]) -> Json:
    body: Json = {"name": name}
    if token is not None:
        body["token"] = token
    return body

