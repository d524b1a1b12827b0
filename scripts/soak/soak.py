#!/usr/bin/env python3
"""Soak: runs asr-mock under slow clients, a hanging callback receiver and concurrent Url
downloads at the same time, samples its resident memory, and prints a verdict.

    python3 scripts/soak/soak.py BINARY [SECONDS]

Load, all at once for SECONDS (default 90):
  - slow headers: 24 connections sending one header line every 2 s (cut by the header timeout)
  - slow bodies: 12 Coze uploads declaring 2 MB and sending 200 bytes/s
  - slow readers: 6 downloads of a 2-hour generated WAV read at 4 KB/s
  - icu tasks, 8/s, whose CallbackUrl is a receiver that accepts and never answers, and
    1/s whose receiver acknowledges at once (it must not wait behind the hanging one)
  - icu Url tasks, 3/s, from a server that drips 1 MB at 10 KB/s, one that never answers,
    one that announces 600 MB, and the simulator's own generated audio
  - ordinary traffic: a Coze upload and an icu poll every 0.5 s, a health check every second
The simulator runs with small stores (so they fill during warm-up) and short download and
callback timeouts (so the outbound work reaches a steady state).

Verdict (exit 0 only if all hold):
  - memory is flat: after the first third (warm-up), the peak RSS of the last half of the
    samples exceeds the peak of the first half by at most max(8 MB, 10 %);
  - every health check was answered within 5 s; ordinary traffic got no 5xx or drop;
  - every slow-header connection was cut at least once (when SECONDS >= 45), and every
    slow-body upload was cut or answered at least once (when SECONDS >= 90);
  - every task for the healthy receiver submitted 20 s before the end was called back, and
    none later than 15 s after its submit;
  - the server is alive and printed no panic.
"""

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

BINARY = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 90.0
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WAV = open(os.path.join(ROOT, "mock-server/tests/fixtures/audio/speech-cmn-16k.wav"), "rb").read()
WAV_B64 = base64.b64encode(WAV).decode()

stats = {k: 0 for k in [
    "slow_header_cut", "slow_body_cut", "slow_body_answered", "slow_reader_done",
    "callback_conns", "submits", "submit_errors", "drip_conns", "healthy_callbacks",
    "ordinary_ok", "ordinary_bad", "health_ok", "health_bad",
]}
health_ms = []
failures = []
# TaskId -> submit time, and -> callback arrival time, for the healthy receiver.
healthy_submitted = {}
healthy_called = {}


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


async def request(port, method, path, body=b"", headers=(), timeout=10.0):
    """One request on a fresh connection; (status, body) or raises."""
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        w.write(head.encode() + body)
        await w.drain()
        raw = await asyncio.wait_for(r.read(), timeout)
    finally:
        w.close()
    if not raw:
        raise ConnectionError("closed without an answer")
    status = int(raw.split(b" ", 2)[1])
    return status, raw.split(b"\r\n\r\n", 1)[-1]


async def until(stop, coro_factory):
    while not stop.is_set():
        try:
            await coro_factory()
        except (OSError, asyncio.TimeoutError, ConnectionError, IndexError, ValueError):
            await asyncio.sleep(0.2)


async def slow_header(port, stop):
    async def once():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /__admin/health HTTP/1.1\r\nHost: localhost\r\n")
        closed = asyncio.ensure_future(r.read())
        try:
            while not stop.is_set() and not closed.done():
                w.write(b"X-Slow: a\r\n")
                await w.drain()
                await asyncio.wait([closed], timeout=2.0)
            if closed.done():
                stats["slow_header_cut"] += 1
        except OSError:
            stats["slow_header_cut"] += 1
        finally:
            closed.cancel()
            w.close()
    await until(stop, once)


async def slow_body(port, stop):
    async def once():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer pat_soak\r\n"
                b"Content-Type: multipart/form-data; boundary=S\r\nContent-Length: 2000000\r\n\r\n"
                b"--S\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n")
        answer = asyncio.ensure_future(r.read(64))
        try:
            while not stop.is_set() and not answer.done():
                w.write(b"\0" * 100)
                await w.drain()
                await asyncio.wait([answer], timeout=0.5)
            if answer.done():
                stats["slow_body_answered" if answer.result() else "slow_body_cut"] += 1
        except OSError:
            stats["slow_body_cut"] += 1
        finally:
            answer.cancel()
            w.close()
    await until(stop, once)


async def slow_reader(port, stop):
    async def once():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /__admin/audio/generated/speechlike.wav?seconds=7200 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        try:
            while not stop.is_set():
                chunk = await asyncio.wait_for(r.read(4096), 30)
                if not chunk:
                    stats["slow_reader_done"] += 1
                    break
                await asyncio.sleep(1.0)
        finally:
            w.close()
    await until(stop, once)


async def hanging_receiver(reader, writer):
    """Accepts a callback and never answers; lets go when the simulator gives up."""
    stats["callback_conns"] += 1
    try:
        while await reader.read(65536):
            pass
    except (OSError, asyncio.CancelledError):
        pass
    writer.close()


async def healthy_receiver(reader, writer):
    """Acknowledges a callback at once, noting when each TaskId (requestId) arrived."""
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("closed")
            head += chunk
        head, body = head.split(b"\r\n\r\n", 1)
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += await reader.read(65536)
        form = dict(pair.split(b"=", 1) for pair in body.split(b"&") if b"=" in pair)
        task = int(form.get(b"requestId", b"0"))
        healthy_called.setdefault(task, time.monotonic())
        stats["healthy_callbacks"] += 1
        ack = b'{"code":0,"message":"success"}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                     + str(len(ack)).encode() + b"\r\n\r\n" + ack)
        await writer.drain()
    except (OSError, ConnectionError, ValueError, asyncio.CancelledError):
        pass
    writer.close()


async def drip_server(reader, writer):
    """Url audio: by path, drips 1 MB at 10 KB/s, never answers, or announces 600 MB."""
    stats["drip_conns"] += 1
    try:
        line = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        if b"/hang" in line:
            await reader.read()
        elif b"/huge" in line:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 600000000\r\n\r\n")
            for _ in range(600):
                writer.write(b"\0" * 10000)
                await writer.drain()
                await asyncio.sleep(0.1)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 1000000\r\n\r\n" + WAV[:44])
            for _ in range(1000):
                writer.write(b"\0" * 1000)
                await writer.drain()
                await asyncio.sleep(0.1)
    except (OSError, asyncio.CancelledError):
        pass
    writer.close()


async def submitter(port, stop, per_second, body_of):
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        for _ in range(per_second):
            n += 1
            asyncio.ensure_future(submit_one(port, body_of(n)))
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def submit_one(port, body):
    stats["submits"] += 1
    sent = time.monotonic()
    try:
        status, answer = await request(port, "POST", "/openapi/asr/voiceToText", json.dumps(body).encode(),
                                       [("Content-Type", "application/json")])
        answer = json.loads(answer)
        if status != 200 or answer.get("code") != 0:
            stats["submit_errors"] += 1
        elif body.get("CallbackUrl", "").endswith("/healthy"):
            healthy_submitted[answer["data"]["TaskId"]] = sent
    except (OSError, asyncio.TimeoutError, ConnectionError, ValueError, IndexError):
        stats["submit_errors"] += 1


async def ordinary(port, stop):
    form = (b"--S\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n" + WAV + b"\r\n--S--\r\n")
    while not stop.is_set():
        for method, path, body, headers in [
            ("POST", "/v1/audio/transcriptions", form, [("Authorization", "Bearer pat_soak"), ("Content-Type", "multipart/form-data; boundary=S")]),
            ("GET", "/openapi/asr/searchResult?TaskId=1", b"", []),
        ]:
            try:
                status, _ = await request(port, method, path, body, headers)
                stats["ordinary_ok" if status < 500 else "ordinary_bad"] += 1
                if status >= 500:
                    failures.append(f"{method} {path}: HTTP {status}")
            except (OSError, asyncio.TimeoutError, ConnectionError, ValueError, IndexError) as e:
                stats["ordinary_bad"] += 1
                failures.append(f"{method} {path}: {e!r}")
        await asyncio.sleep(0.5)


async def health(port, stop, last):
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, body = await request(port, "GET", "/__admin/health", timeout=5.0)
            ms = (time.monotonic() - started) * 1000
            health_ms.append(ms)
            if status == 200:
                stats["health_ok"] += 1
                last.update(json.loads(body))
            else:
                stats["health_bad"] += 1
                failures.append(f"health: HTTP {status}")
        except (OSError, asyncio.TimeoutError, ConnectionError, ValueError, IndexError) as e:
            stats["health_bad"] += 1
            failures.append(f"health: {e!r} after {time.monotonic() - started:.1f} s")
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def quiet_cancellations(loop, context):
    """Receivers' connection tasks are cancelled when the run ends: not worth a traceback."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


async def main():
    asyncio.get_running_loop().set_exception_handler(quiet_cancellations)
    stderr = tempfile.NamedTemporaryFile(prefix="soak-stderr-", delete=False)
    server = subprocess.Popen(
        [BINARY, "--port", "0", "--icu-submit-rate", "0", "--icu-query-rate", "0",
         "--journal-size", "200", "--icu-task-capacity", "2000",
         "--download-timeout-ms", "15000", "--callback-timeout-ms", "5000",
         "--callback-interval-ms", "2000"],
        stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, "RUST_BACKTRACE": "0", "RUST_LOG": "warn"})
    base = server.stdout.readline().decode().split()[-1]
    port = int(base.rsplit(":", 1)[1])
    receiver = await asyncio.start_server(hanging_receiver, "127.0.0.1", 0)
    healthy = await asyncio.start_server(healthy_receiver, "127.0.0.1", 0)
    healthy_cb = f"http://127.0.0.1:{healthy.sockets[0].getsockname()[1]}/healthy"
    dripper = await asyncio.start_server(drip_server, "127.0.0.1", 0)
    cb = f"http://127.0.0.1:{receiver.sockets[0].getsockname()[1]}/callback"
    drip = f"http://127.0.0.1:{dripper.sockets[0].getsockname()[1]}"
    urls = [f"{drip}/drip.wav", f"{drip}/hang.wav", f"{drip}/huge.wav",
            f"{base}/__admin/audio/generated/speechlike.wav?seconds=60"]
    data_task = lambda n: {"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 1,
                           "Data": WAV_B64, "CallbackUrl": cb}
    healthy_task = lambda n: {**data_task(n), "CallbackUrl": healthy_cb}
    url_task = lambda n: {"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 0,
                          "Url": urls[n % len(urls)], "CallbackUrl": cb}
    stop = asyncio.Event()
    last = {}
    workers = ([slow_header(port, stop) for _ in range(24)] + [slow_body(port, stop) for _ in range(12)] +
               [slow_reader(port, stop) for _ in range(6)] +
               [submitter(port, stop, 8, data_task), submitter(port, stop, 3, url_task),
                submitter(port, stop, 1, healthy_task),
                ordinary(port, stop), health(port, stop, last)])
    tasks = [asyncio.ensure_future(w) for w in workers]
    print(f"soak: {BINARY} for {SECONDS:.0f} s")
    print(f"{'t/s':>5} {'RSS/MB':>7} {'tasks':>6} {'cb pending':>10} {'health ms':>9} {'hdr cut':>7} {'body cut':>8} {'submits':>7}")
    samples = []
    started = time.monotonic()
    while time.monotonic() - started < SECONDS and server.poll() is None:
        await asyncio.sleep(3.0)
        t = time.monotonic() - started
        rss = rss_kb(server.pid)
        samples.append((t, rss))
        print(f"{t:5.0f} {rss / 1024:7.1f} {last.get('icu_tasks', '-'):>6} {last.get('callbacks_pending', '-'):>10} "
              f"{(health_ms[-1] if health_ms else 0):9.0f} {stats['slow_header_cut']:7} {stats['slow_body_cut']:8} {stats['submits']:7}",
              flush=True)
    stop.set()
    await asyncio.sleep(0.5)
    for t in tasks:
        t.cancel()
    alive = server.poll() is None
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
    receiver.close()
    healthy.close()
    dripper.close()
    with open(stderr.name, errors="replace") as f:
        panics = [line.strip() for line in f if "panicked" in line]
    os.unlink(stderr.name)

    verdict = []
    steady = [rss for t, rss in samples if t > SECONDS / 3]
    if len(steady) >= 4:
        half = len(steady) // 2
        first, last_half = max(steady[:half]), max(steady[half:])
        allowed = max(8 * 1024, first // 10)
        growth = last_half - first
        print(f"memory: warm-up done at {samples[0][1] // 1024} -> {first // 1024} MB, then peak {last_half // 1024} MB "
              f"(growth {growth // 1024} MB, allowed {allowed // 1024} MB), overall peak {max(r for _, r in samples) // 1024} MB")
        if growth > allowed:
            verdict.append(f"memory grew by {growth // 1024} MB after warm-up (allowed {allowed // 1024} MB)")
    else:
        verdict.append("too few samples to judge memory (run longer)")
    worst = max(health_ms) if health_ms else 0
    print(f"health: {stats['health_ok']} ok, {stats['health_bad']} failed, worst {worst:.0f} ms")
    print("counts: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    if stats["health_bad"] or stats["ordinary_bad"]:
        verdict.append(f"{stats['health_bad']} health checks and {stats['ordinary_bad']} ordinary requests failed, e.g. {failures[:5]}")
    if SECONDS >= 45 and stats["slow_header_cut"] < 24:
        verdict.append(f"only {stats['slow_header_cut']} slow-header connections were cut (24 open)")
    if SECONDS >= 90 and stats["slow_body_cut"] + stats["slow_body_answered"] < 12:
        verdict.append(f"only {stats['slow_body_cut'] + stats['slow_body_answered']} slow-body uploads were cut or answered (12 open)")
    end = started + SECONDS
    due = [t for t, at in healthy_submitted.items() if at < end - 20]
    late = [t for t in due if healthy_called.get(t, float("inf")) - healthy_submitted[t] > 15]
    delays = sorted(healthy_called[t] - healthy_submitted[t] for t in due if t in healthy_called)
    print(f"healthy receiver: {len(due)} tasks due, {len(delays)} called back"
          + (f", delay median {delays[len(delays) // 2]:.1f} s, worst {delays[-1]:.1f} s" if delays else ""))
    if not due:
        verdict.append("no task for the healthy receiver was due (run longer)")
    elif late:
        verdict.append(f"{len(late)} of {len(due)} callbacks to the healthy receiver were over 15 s late or missing "
                       "(they queue behind the hanging receiver)")
    if not alive:
        verdict.append("the server exited during the soak")
    if panics:
        verdict.append(f"the server panicked {len(panics)} times, e.g. {panics[:3]}")
    if verdict:
        print("VERDICT: FAIL")
        for v in verdict:
            print(f"  - {v}")
        return 1
    print("VERDICT: PASS (memory flat, server responsive, slow clients cut)")
    return 0


sys.exit(asyncio.run(main()))
