"""One JSON call to the control API (`/__admin/…`) over http.client.

http.client rather than urllib: no proxy from the environment can catch a loopback call,
and nothing is followed or retried behind the caller's back."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from typing import Any, Callable, Mapping, Optional

from ._errors import AsrMockError

__all__ = ["Control"]

#: Longest a control call may take: moving the clock over many long tasks does real work.
CALL_TIMEOUT = 60.0
#: How much of a non-JSON error body is quoted.
_QUOTE = 500


class Control:
    """Calls one simulator's control API.

    `describe_failure` is asked, when no answer comes, why (the process exited, with its
    last log lines), so a dead simulator reads as such rather than as a refused connection.
    """

    def __init__(
        self,
        base_url: str,
        *,
        admin_token: Optional[str] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        describe_failure: Optional[Callable[[], str]] = None,
    ) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname or url.port is None:
            raise ValueError(f"not a simulator address: {base_url!r}")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._token = admin_token
        self._ssl = ssl_context
        self._describe_failure = describe_failure

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=CALL_TIMEOUT, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=CALL_TIMEOUT)

    def call(
        self,
        method: str,
        path: str,
        body: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        """Sends `body` as JSON and returns the decoded JSON answer (None for an empty one).

        Raises:
            AsrMockError: a 4xx/5xx (with the server's message), or no answer at all.
        """
        target = path
        pairs = {k: v for k, v in (query or {}).items() if v is not None}
        if pairs:
            target += "?" + urllib.parse.urlencode(pairs)
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            # The control API takes state-changing bodies only as JSON.
            payload = json.dumps(body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif method not in ("GET", "HEAD", "DELETE"):
            payload = b""
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        connection = self._connection()
        try:
            connection.request(method, target, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as e:
            why = self._describe_failure() if self._describe_failure else ""
            raise AsrMockError(
                f"no answer ({type(e).__name__}: {e}){'; ' + why if why else ''}",
                method=method,
                path=path,
            ) from e
        finally:
            connection.close()
        if status >= 400:
            raise AsrMockError(_error_message(raw), status=status, method=method, path=path)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise AsrMockError(
                f"answer is not JSON: {raw[:_QUOTE]!r}", status=status, method=method, path=path
            ) from e


def _error_message(raw: bytes) -> str:
    """The server's `{"error": "…"}`, or the body itself if it is not that shape."""
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
        return str(decoded["error"])
    text = raw[:_QUOTE].decode("utf-8", "replace")
    return text or "(empty body)"
