#!/usr/bin/env python3
"""Runs the official Coze Python SDK (cozepy), unchanged, against the simulator.

Usage: coze_python_check.py BASE_URL AUDIO_DIR EMPTY_FILE

Prints one `PASS python ...` or `FAIL python ...` line per check and exits non-zero if
any check failed. Only cozepy's public API is used: `Coze(auth=TokenAuth(...),
base_url=...)`, `AsyncCoze`, `.audio.transcriptions.create(file=...)`, the result's
`.response.logid`, and `CozeAPIError` (`.code`, `.msg`, `.logid`). Afterwards the
simulator's journal is asked, through `/__admin/requests/find` and `/count`, what the SDK
sent: the file part (name, filename, size, SHA-256) and the token, redacted. The optional
`http_client=SyncHTTPClient(event_hooks=...)` (the SDK's own client class) only records
what went over the wire, so a failure can say what the SDK sent and what it got back.
"""

import asyncio
import hashlib
import json
import re
import urllib.error
import urllib.request
import sys
import traceback
from pathlib import Path

import cozepy
from cozepy import (
    AsyncCoze,
    AsyncTokenAuth,
    Coze,
    CozeAPIError,
    SyncHTTPClient,
    TokenAuth,
)

# 14 digits of Beijing time + 20 uppercase hex digits (spec: "logid format").
LOGID_RE = re.compile(r"^\d{14}[0-9A-F]{20}$")

GOOD = "pat_good"
UNKNOWN = "pat_unknown"
READONLY = "pat_readonly"

MSG_AUTH_INVALID = "authentication is invalid"

results = []  # (ok, name, detail)


class Wire:
    """What the last request sent and what came back, for failure reports."""

    def __init__(self):
        self.last = {}

    def on_request(self, request):
        parts = []
        for field in getattr(request.stream, "fields", []) or []:
            render = getattr(field, "render_headers", None)
            if render is not None:
                try:
                    parts.append(render().decode("utf-8", "replace").strip())
                except Exception:  # noqa: BLE001 - diagnostics only
                    pass
        self.last = {
            "request": f"{request.method} {request.url}",
            "request_headers": {
                k: v
                for k, v in request.headers.items()
                if k.lower() in ("authorization", "content-type", "user-agent", "x-coze-client-user-agent")
            },
            "parts": parts,
        }

    def on_response(self, response):
        response.read()
        self.last["status"] = response.status_code
        self.last["response_headers"] = {
            k: v for k, v in response.headers.items() if k.lower() in ("content-type", "x-tt-logid")
        }
        self.last["body"] = response.text[:500]
        try:
            self.last["json"] = response.json()
        except Exception:  # noqa: BLE001
            self.last["json"] = None

    def body_logid(self):
        body = self.last.get("json") or {}
        detail = body.get("detail") if isinstance(body, dict) else None
        return detail.get("logid") if isinstance(detail, dict) else None

    def describe(self):
        return " | wire: " + repr(self.last)


def record(ok, name, detail):
    detail = " ".join(str(detail).split("\n"))  # one line per check
    results.append((ok, name, detail))
    print(f"{'PASS' if ok else 'FAIL'} python {name}: {detail}", flush=True)


def client(base_url, token, wire):
    http = SyncHTTPClient(event_hooks={"request": [wire.on_request], "response": [wire.on_response]})
    return Coze(auth=TokenAuth(token), base_url=base_url, http_client=http)


def check_success(name, base_url, file, expect_empty, wire):
    try:
        resp = client(base_url, GOOD, wire).audio.transcriptions.create(file=file)
    except Exception as e:  # noqa: BLE001
        record(False, name, f"raised {type(e).__name__}: {e}" + wire.describe())
        return
    text = resp.text
    logid = resp.response.logid
    problems = []
    if not isinstance(text, str):
        problems.append(f"text is {type(text).__name__}, not str")
    elif expect_empty and text != "":
        problems.append(f"expected empty text, got {text!r}")
    elif not expect_empty and not text.strip():
        problems.append("expected non-empty text, got empty")
    if not logid or not LOGID_RE.match(logid):
        problems.append(f"response.logid {logid!r} is not a 34-char logid")
    if logid != wire.body_logid():
        problems.append(f"header logid {logid!r} != body detail.logid {wire.body_logid()!r}")
    if problems:
        record(False, name, "; ".join(problems) + wire.describe())
    else:
        record(True, name, f"text={text!r} logid={logid}")


def check_error(name, base_url, token, file, code, msg, wire, times=1):
    """`msg` is the exact expected message, or None to require only a non-empty one.

    The request is sent `times` times: an error answered before the upload has been read can
    surface as a socket error on some attempts only (coze-js does; cozepy's httpx reads the
    response after a failed write, but the same checks are run for both SDKs)."""
    for i in range(1, times + 1):
        ok, detail = error_outcome(base_url, token, file, code, msg, wire)
        if not ok or i == times:
            record(ok, name, detail + (f" [attempt {i}/{times}]" if times > 1 else ""))
            return


def error_outcome(base_url, token, file, code, msg, wire):
    try:
        resp = client(base_url, token, wire).audio.transcriptions.create(file=file)
    except CozeAPIError as e:
        problems = []
        if e.code != code:
            problems.append(f"code {e.code!r} != {code}")
        if msg is not None and e.msg != msg:
            problems.append(f"msg {e.msg!r} != {msg!r}")
        if msg is None and not e.msg:
            problems.append("msg is empty")
        if not e.logid or not LOGID_RE.match(e.logid):
            problems.append(f"logid {e.logid!r} is not a 34-char logid")
        elif e.logid != wire.body_logid():
            problems.append(f"header logid {e.logid!r} != body detail.logid {wire.body_logid()!r}")
        if problems:
            return False, "; ".join(problems) + wire.describe()
        return True, f"CozeAPIError code={e.code} msg={e.msg!r} logid={e.logid} (HTTP {wire.last.get('status')})"
    except Exception as e:  # noqa: BLE001
        return False, f"raised {type(e).__name__} instead of CozeAPIError: {e}" + wire.describe()
    return False, f"no error raised, got {resp!r}" + wire.describe()


def check_plain_client(name, base_url, file):
    """Speech through a Coze built exactly as the README shows, no http_client at all."""
    try:
        resp = Coze(auth=TokenAuth(GOOD), base_url=base_url).audio.transcriptions.create(file=file)
    except Exception as e:  # noqa: BLE001
        record(False, name, f"raised {type(e).__name__}: {e}")
        return
    ok = bool(resp.text.strip()) and bool(LOGID_RE.match(resp.response.logid or ""))
    record(ok, name, f"text={resp.text!r} logid={resp.response.logid!r}")


def check_async(name, base_url, file):
    async def run():
        coze = AsyncCoze(auth=AsyncTokenAuth(GOOD), base_url=base_url)
        return await coze.audio.transcriptions.create(file=file)

    try:
        resp = asyncio.run(run())
    except Exception as e:  # noqa: BLE001
        record(False, name, f"raised {type(e).__name__}: {e}")
        return
    ok = bool(resp.text.strip()) and bool(LOGID_RE.match(resp.response.logid or ""))
    record(ok, name, f"text={resp.text!r} logid={resp.response.logid!r}")


def admin(base_url, path, body=None):
    """A control-API call: (HTTP status, decoded JSON answer)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base_url + path, data=data, headers={"Content-Type": "application/json"}, method="GET" if body is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def check_journal(base_url, since_ms, speech):
    """What cozepy sent, verified through /__admin/requests/find and /count."""
    audio = speech.read_bytes()
    sha = hashlib.sha256(audio).hexdigest()
    refused = {
        "method": "POST",
        "path": "/v1/audio/transcriptions",
        "code": 4100,
        "header": {"Authorization": "Bearer …" + UNKNOWN[-4:]},
        "since": since_ms,
    }
    _, found = admin(base_url, "/__admin/requests/find", refused)
    entries = found.get("requests", [])
    _, counted = admin(base_url, "/__admin/requests/count", refused)
    problems = []
    if not entries:
        problems.append(f"no entry for {refused}")
    elif counted.get("count") != len(entries):
        problems.append(f"count {counted} != {len(entries)} entries found")
    for entry in entries[-1:]:
        parts = (entry.get("body") or {}).get("parts") or []
        file = next((p for p in parts if p.get("name") == "file"), None)
        expected = {"name": "file", "filename": speech.name, "size": len(audio), "sha256": sha}
        if file is None or any(file.get(k) != v for k, v in expected.items()):
            problems.append(f"file part {file!r} != {expected!r}")
        if entry.get("status") != 401:
            problems.append(f"status {entry.get('status')} != 401")
    _, everything = admin(base_url, "/__admin/requests/find", {"since": since_ms, "limit": 1000})
    if UNKNOWN in json.dumps(everything) or READONLY in json.dumps(everything):
        problems.append("a token appears in the journal")
    record(not problems, "(j) find/count: the refused upload, its file part and the redacted token",
           "; ".join(problems) or f"{len(entries)} entries, file part sha256={sha[:12]}…")

    # Raw bytes went as a part named file with httpx's filename "upload".
    raw = {"path": "/v1/audio/transcriptions", "status": 200, "code": 0, "since": since_ms}
    _, found = admin(base_url, "/__admin/requests/find", raw)
    uploads = [
        p for e in found.get("requests", []) for p in (e.get("body") or {}).get("parts") or [] if p.get("name") == "file"
    ]
    by_name = {p.get("filename") for p in uploads if p.get("sha256") == sha}
    ok = {"upload", speech.name} <= by_name
    record(ok, "(k) find: successful uploads carry the file's SHA-256, raw bytes as 'upload'",
           f"filenames with the speech hash: {sorted(by_name)}")

    status, answer = admin(base_url, "/__admin/requests/count", {"pathPattern": "(", "since": since_ms})
    ok = status == 400 and "pathPattern" in answer.get("error", "")
    record(ok, "(l) a bad matcher -> 400 naming the field", f"HTTP {status} {answer}")


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    base_url, audio_dir, empty_file = argv[1], Path(argv[2]), Path(argv[3])
    speech = audio_dir / "speech-cmn-16k.wav"
    silence = audio_dir / "silence-2s-16k.wav"
    not_audio = audio_dir / "not-audio.txt"
    print(f"# cozepy {cozepy.VERSION} against {base_url}", flush=True)
    _, health = admin(base_url, "/__admin/health")
    since_ms = health["now_ms"]  # this checker's requests, not an earlier run's
    wire = Wire()
    checks = [
        lambda: check_success("(a) speech wav -> text + response.logid", base_url, speech, False, wire),
        lambda: check_success("(b) silent wav -> empty text", base_url, silence, True, wire),
        lambda: check_error("(c) unknown token -> CozeAPIError 4100", base_url, UNKNOWN, speech, 4100,
                            MSG_AUTH_INVALID, wire, times=10),
        lambda: check_error("(d) token without createTranscription -> CozeAPIError 4101", base_url, READONLY,
                            speech, 4101, None, wire, times=10),
        lambda: check_error("(e) empty file -> CozeAPIError 4300", base_url, GOOD, empty_file, 4300, None, wire),
        lambda: check_error("(f) not-audio.txt -> CozeAPIError 4303", base_url, GOOD, not_audio, 4303, None, wire),
        # Raw bytes: httpx names the part "upload" (no extension), so the format must be sniffed.
        lambda: check_success("(g) raw bytes (filename 'upload') -> text", base_url, speech.read_bytes(), False,
                              wire),
        lambda: check_plain_client("(h) default Coze client, no hooks -> text", base_url, speech),
        lambda: check_async("(i) AsyncCoze -> text", base_url, speech),
        lambda: check_journal(base_url, since_ms, speech),
    ]
    for check in checks:
        try:
            check()
        except Exception:  # noqa: BLE001 - a bug in a check is a failed check, not a crash
            record(False, "check crashed", traceback.format_exc().replace("\n", " | "))
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
