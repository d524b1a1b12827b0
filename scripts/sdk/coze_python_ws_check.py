#!/usr/bin/env python3
"""Runs cozepy's async WebSocket transcription client, unchanged, against the simulator over TLS.

Usage: SSL_CERT_FILE=CERT coze_python_ws_check.py HTTPS_BASE_URL AUDIO_DIR CERT TIME_SCALE

HTTPS_BASE_URL is a simulator started with `--tls-self-signed CERT`: cozepy derives its
`wss://` URL from an `https://` base only. The certificate is trusted the standard way, with
no change to the SDK: `SSL_CERT_FILE` (read by the default SSL context that the `websockets`
library uses, and by httpx), or for HTTP alone an `AsyncHTTPClient(verify=...)` passed as
cozepy's `http_client`. TIME_SCALE is the simulator's `--time-scale` (its clock runs that
much faster), so audio streamed "in real time" is sent that much faster.

Prints one `PASS python-ws ...` / `FAIL python-ws ...` line per check and exits non-zero if
any check failed.

Only the number and timing of interim `transcriptions.message.update`s are left unchecked:
the final text, that updates are cumulative, and the event order are.
"""

import asyncio
import io
import os
import ssl
import sys
import traceback
import wave
from contextlib import contextmanager
from pathlib import Path

import cozepy
from cozepy import (
    AsyncCoze,
    AsyncHTTPClient,
    AsyncWebsocketsAudioTranscriptionsClient,
    AsyncWebsocketsAudioTranscriptionsEventHandler,
    CozeAPIError,
    InputAudio,
    InputAudioBufferAppendEvent,
    InputAudioBufferCompletedEvent,
    TokenAuth,
    TranscriptionsCreatedEvent,
    TranscriptionsMessageCompletedEvent,
    TranscriptionsMessageUpdateEvent,
    TranscriptionsUpdatedEvent,
    TranscriptionsUpdateEvent,
    WebsocketsErrorEvent,
)

GOOD = "pat_good"
UNKNOWN = "pat_unknown"
READONLY = "pat_readonly"
MSG_AUTH_INVALID = "authentication is invalid"
CHUNK = 6400  # bytes per append: 200 ms of 16 kHz mono 16-bit audio
TIMEOUT = 15.0  # seconds for any awaited event

CREATED = "transcriptions.created"
UPDATED = "transcriptions.updated"
BUFFER_COMPLETED = "input_audio_buffer.completed"
UPDATE = "transcriptions.message.update"
COMPLETED = "transcriptions.message.completed"
ERROR = "error"
EXCEPTION = "exception"  # a non-event the SDK passes to on_error (e.g. ConnectionClosedOK)

WAV_16K = {"format": "wav", "codec": "pcm", "sample_rate": 16000, "channel": 1, "bit_depth": 16}

results = []


def record(ok, name, detail):
    results.append(ok)
    detail = " ".join(str(detail).split("\n"))  # one line per check
    print(f"{'PASS' if ok else 'FAIL'} python-ws {name}: {detail}", flush=True)


class Recorder(AsyncWebsocketsAudioTranscriptionsEventHandler):
    """Keeps every event in arrival order. cozepy maps handlers by the `event` annotation, so
    each method keeps it (without one a handler is silently never called)."""

    def __init__(self):
        self.events = []  # (type, payload)
        self._changed = asyncio.Event()

    def _add(self, kind, payload=None):
        self.events.append((kind, payload))
        self._changed.set()

    async def on_transcriptions_created(self, cli, event: TranscriptionsCreatedEvent):
        self._add(CREATED)

    async def on_transcriptions_updated(self, cli, event: TranscriptionsUpdatedEvent):
        audio = event.data.input_audio
        self._add(UPDATED, audio.model_dump() if audio else None)

    async def on_input_audio_buffer_completed(self, cli, event: InputAudioBufferCompletedEvent):
        self._add(BUFFER_COMPLETED)

    async def on_transcriptions_message_update(self, cli, event: TranscriptionsMessageUpdateEvent):
        self._add(UPDATE, event.data.content)

    async def on_transcriptions_message_completed(self, cli, event: TranscriptionsMessageCompletedEvent):
        self._add(COMPLETED)

    async def on_error(self, cli, e):
        # An `error` frame arrives as WebsocketsErrorEvent(data=CozeAPIError); anything the
        # receive loop raises (a close included) arrives as the exception itself.
        if isinstance(e, WebsocketsErrorEvent) and isinstance(e.data, CozeAPIError):
            origin = e.detail.origin_message if e.detail else None
            self._add(ERROR, {"code": e.data.code, "msg": e.data.msg, "logid": e.data.logid, "origin": origin})
        else:
            self._add(EXCEPTION, f"{type(e).__name__}: {e}")

    async def until(self, pred, what):
        """Waits until `pred(events)` holds; raises with the events so far on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not pred(self.events):
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {what} within {TIMEOUT} s; events: {self.brief()}")
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass
        return self.events

    def count(self, kind):
        return sum(1 for k, _ in self.events if k == kind)

    def brief(self):
        return [k if p is None else f"{k}={p!r}" for k, p in self.events][:30]


def coze(base_url, token, http_client=None):
    return AsyncCoze(auth=TokenAuth(token), base_url=base_url, http_client=http_client)


async def open_session(base_url, token):
    handler = Recorder()
    client = coze(base_url, token).websockets.audio.transcriptions.create(on_event=handler)
    await client.connect()
    return client, handler


def update_data(**input_audio):
    return TranscriptionsUpdateEvent.Data(input_audio=InputAudio(**input_audio))


async def stream_file(client: AsyncWebsocketsAudioTranscriptionsClient, handler, audio: bytes, pace: float):
    """created → update → appends (one every `pace` s, or all at once) → complete, then
    cozepy's own wait() for message.completed."""
    await handler.until(lambda ev: ev, "first event")
    await client.transcriptions_update(update_data(**WAV_16K))
    for i in range(0, len(audio), CHUNK):
        await client.input_audio_buffer_append(InputAudioBufferAppendEvent.Data(delta=audio[i : i + CHUNK]))
        if pace:
            await asyncio.sleep(pace)
    await client.input_audio_buffer_complete()
    await asyncio.wait_for(client.wait(), TIMEOUT)


def session_problems(events, http_text):
    """The final text, cumulative updates and the event order of one complete cycle."""
    problems = []
    kinds = [k for k, _ in events]
    others = [k for k in kinds if k != UPDATE]
    if others != [CREATED, UPDATED, BUFFER_COMPLETED, COMPLETED]:
        problems.append(f"order {others} != created, updated, input_audio_buffer.completed, message.completed")
    updated = [p for k, p in events if k == UPDATED]
    if updated and updated[0] != WAV_16K:
        problems.append(f"updated echoed {updated[0]} != {WAV_16K}")
    texts = [p for k, p in events if k == UPDATE]
    if not texts:
        problems.append("no transcriptions.message.update")
    else:
        first, last = kinds.index(UPDATE), len(kinds) - 1 - kinds[::-1].index(UPDATE)
        if UPDATED in kinds and first < kinds.index(UPDATED):
            problems.append("a message.update before transcriptions.updated")
        if COMPLETED in kinds and last > kinds.index(COMPLETED):
            problems.append("a message.update after message.completed")
        for a, b in zip(texts, texts[1:]):
            if not b.startswith(a):
                problems.append(f"not cumulative: {a!r} then {b!r}")
                break
        if texts[-1] != http_text:
            problems.append(f"final text {texts[-1]!r} != HTTP text {http_text!r}")
    return problems


@contextmanager
def without_env(name):
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


async def check_untrusted(name, base_url, speech):
    """Without the certificate trusted, both the HTTP call and the WS handshake must refuse
    it: proof that the trust set up for the other checks is what lets them through."""
    refused = []
    with without_env("SSL_CERT_FILE"):
        try:
            await coze(base_url, GOOD).audio.transcriptions.create(file=speech.read_bytes())
            refused.append("HTTP: accepted")
        except Exception as e:  # noqa: BLE001 - the exception's type is what is checked
            refused.append(f"HTTP: {type(e).__name__}" + ("" if "CERTIFICATE_VERIFY_FAILED" in str(e) else f" ({e})"))
        try:
            client, _ = await open_session(base_url, GOOD)
            await client.close()
            refused.append("WS: accepted")
        except ssl.SSLCertVerificationError as e:
            refused.append(f"WS: {type(e).__name__} ({e.verify_message})")
        except Exception as e:  # noqa: BLE001
            refused.append(f"WS: {type(e).__name__} ({e})")
    ok = refused[0] == "HTTP: ConnectError" and refused[1].startswith("WS: SSLCertVerificationError")
    record(ok, name, "; ".join(refused))


async def http_text_verify(base_url, cert, audio):
    """HTTP over TLS trusting the certificate through httpx's `verify=`, no environment."""
    with without_env("SSL_CERT_FILE"):
        http = AsyncHTTPClient(verify=ssl.create_default_context(cafile=cert))
        resp = await coze(base_url, GOOD, http).audio.transcriptions.create(file=audio)
        await http.aclose()
    return resp.text


async def check_http(name, base_url, cert, speech):
    via_verify = await http_text_verify(base_url, cert, speech.read_bytes())
    via_env = (await coze(base_url, GOOD).audio.transcriptions.create(file=speech.read_bytes())).text
    ok = bool(via_verify.strip()) and via_env == via_verify
    record(ok, name, f"verify= {via_verify!r}, SSL_CERT_FILE {via_env!r}")


def two_spans(audio_dir):
    """Mandarin, 550 ms of silence, English: two speech spans, so that more than one partial
    text can come while the audio streams in real time."""
    samples = b""
    for name in ("speech-cmn-16k.wav", "speech-en-16k.wav"):
        with wave.open(str(audio_dir / name)) as w:
            samples += w.readframes(w.getnframes())
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples)
    return out.getvalue()


async def check_stream(name, base_url, cert, audio, pace):
    http_text = await http_text_verify(base_url, cert, audio)
    if not http_text.strip():
        record(False, name, "the HTTP text is empty: nothing to compare")
        return
    client, handler = await open_session(base_url, GOOD)
    try:
        await stream_file(client, handler, audio, pace)
    finally:
        await client.close()
    problems = session_problems(handler.events, http_text)
    texts = [p for k, p in handler.events if k == UPDATE]
    if problems:
        record(False, name, "; ".join(problems) + f" | events: {handler.brief()}")
    else:
        record(True, name, f"final {texts[-1]!r} = HTTP text, {len(texts)} cumulative update(s), "
                           f"{len(audio)} B in {-(-len(audio) // CHUNK)} appends"
                           + (f" every {pace * 1000:.0f} ms" if pace else ""))


async def check_bad_config(name, base_url):
    """Two invalid updates give `error` 4000 through on_error; a valid one is still accepted."""
    client, handler = await open_session(base_url, GOOD)
    problems = []
    try:
        await handler.until(lambda ev: ev, "first event")
        bad = [
            dict(WAV_16K, format="pcm", codec="g711a"),  # g711a needs 8000 Hz
            dict(WAV_16K, format="mp3"),
        ]
        for n, cfg in enumerate(bad, 1):
            await client.transcriptions_update(update_data(**cfg))
            events = await handler.until(lambda ev, n=n: sum(k in (ERROR, UPDATED) for k, _ in ev) >= n,
                                         f"answer to update {n}")
            kind, payload = [e for e in events if e[0] in (ERROR, UPDATED)][n - 1]
            if kind != ERROR or payload["code"] != 4000 or not payload["msg"]:
                problems.append(f"{cfg}: got {kind} {payload!r}, expected error 4000")
            elif not payload["origin"] or str(cfg["format"]) not in payload["origin"]:
                problems.append(f"{cfg}: detail.origin_message {payload['origin']!r} is not the frame sent")
        await client.transcriptions_update(update_data(**WAV_16K))
        events = await handler.until(lambda ev: any(k == UPDATED for k, _ in ev), "transcriptions.updated")
        updated = next(p for k, p in events if k == UPDATED)
        if updated != WAV_16K:
            problems.append(f"updated echoed {updated} != {WAV_16K}")
        if handler.count(CREATED) != 1 or handler.count(EXCEPTION):
            problems.append("the connection did not stay open")
    finally:
        await client.close()
    errors = [p for k, p in handler.events if k == ERROR]
    detail = "; ".join(problems) + f" | events: {handler.brief()}" if problems else \
        f"errors {[(e['code'], e['msg']) for e in errors]}, then transcriptions.updated on the same connection"
    record(not problems, name, detail)


async def check_bad_token(name, base_url, token, code, msg):
    """The upgrade succeeds, then `error` replaces `created` and the server closes: cozepy
    hands that close to on_error as the exception that ended its receive loop."""
    client, handler = await open_session(base_url, token)
    try:
        events = await handler.until(lambda ev: any(k == EXCEPTION for k, _ in ev), "close from the server")
    finally:
        await client.close()
    kind, payload = events[0]
    problems = []
    if kind != ERROR or payload["code"] != code:
        problems.append(f"first event {kind} {payload!r}, expected error {code}")
    elif msg is not None and payload["msg"] != msg:
        problems.append(f"msg {payload['msg']!r} != {msg!r}")
    elif not payload["logid"]:
        problems.append("no detail.logid")
    if handler.count(CREATED):
        problems.append("transcriptions.created was sent too")
    closed = next(p for k, p in events if k == EXCEPTION)
    if not closed.startswith("ConnectionClosedOK: received 1000"):
        problems.append(f"the server's close reached on_error as {closed!r}, expected a clean 1000")
    if problems:
        record(False, name, "; ".join(problems) + f" | events: {handler.brief()}")
    else:
        record(True, name, f"CozeAPIError code={payload['code']} msg={payload['msg']!r} logid={payload['logid']}, "
                           f"then on_error({closed})")


async def main(base_url, audio_dir, cert, scale):
    speech = audio_dir / "speech-cmn-16k.wav"
    real_time = CHUNK / 32000 / scale  # seconds of simulator time per append, on the wall clock
    checks = [
        ("(a) certificate not trusted -> HTTP and WS refuse it", check_untrusted, base_url, speech),
        ("(b) HTTP over TLS: verify= and SSL_CERT_FILE -> same text", check_http, base_url, cert, speech),
        ("(c) wss stream of speech-cmn-16k.wav, all at once -> HTTP's text", check_stream, base_url, cert,
         speech.read_bytes(), 0),
        ("(d) wss stream of two speech spans in (simulated) real time -> HTTP's text", check_stream, base_url,
         cert, two_spans(audio_dir), real_time),
        ("(e) bad config -> on_error 4000, connection still usable", check_bad_config, base_url),
        ("(f) unknown token -> on_error 4100, then close 1000", check_bad_token, base_url, UNKNOWN, 4100,
         MSG_AUTH_INVALID),
        ("(g) token without createTranscription -> on_error 4101, then close 1000", check_bad_token, base_url,
         READONLY, 4101, None),
    ]
    for name, check, *args in checks:
        try:
            await check(name, *args)
        except Exception:  # noqa: BLE001 - a bug in a check is a failed check, not a crash
            record(False, name, traceback.format_exc().replace("\n", " | "))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    base, audio_dir, cert_file, time_scale = sys.argv[1], Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    if os.environ.get("SSL_CERT_FILE") != cert_file:
        print(f"SSL_CERT_FILE must be {cert_file} (the simulator's certificate)", file=sys.stderr)
        sys.exit(2)
    print(f"# cozepy {cozepy.VERSION} (async websockets) against {base}", flush=True)
    asyncio.run(main(base, audio_dir, cert_file, time_scale))
    sys.exit(0 if results and all(results) else 1)
