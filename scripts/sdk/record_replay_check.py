#!/usr/bin/env python3
"""Record through the proxy, replay without it: the official Coze Python SDK (cozepy),
unchanged, on both sides.

Usage:
  record_replay_check.py record BASE_URL AUDIO_DIR STATE_JSON
  record_replay_check.py replay BASE_URL AUDIO_DIR STATE_JSON RECORD_DIR

`record` runs against a simulator started with `--proxy-coze UPSTREAM --record DIR`: it
transcribes a few recordings and one request with a token the upstream refuses, and keeps
what came back in STATE_JSON. `replay` runs against a fresh simulator started with
`--fixtures DIR/fixtures --scenarios DIR/scenarios` (another seed, no upstream): the same
files must give the same texts, and the recorded refusal, chosen by its scenario name
through the control API, the same code and message. Prints one `PASS record-replay ...` or
`FAIL record-replay ...` line per check; exits non-zero if any failed.
"""

import json
import sys
import urllib.request
from pathlib import Path

from cozepy import Coze, CozeAPIError, TokenAuth

GOOD = "pat_good"
REFUSED = "pat_unknown_to_the_upstream"
FILES = ["speech-cmn-16k.wav", "speech-en-16k.wav", "speech-cmn.mp3", "silence-2s-16k.wav"]

results = []


def check(ok, name, detail):
    results.append(ok)
    flat = str(detail).replace("\n", " ")
    print(f"{'PASS' if ok else 'FAIL'} record-replay {name}: {flat}")


def transcribe(base_url, token, path):
    with open(path, "rb") as f:
        return Coze(auth=TokenAuth(token), base_url=base_url).audio.transcriptions.create(file=f)


def refused(base_url, path):
    try:
        transcribe(base_url, REFUSED, path)
    except CozeAPIError as e:
        return {"code": e.code, "msg": e.msg}
    return None


def scenario(base_url, action, name):
    """`activate` or `deactivate` a scenario for every request, through the control API."""
    body = json.dumps({"name": name}).encode()
    req = urllib.request.Request(
        f"{base_url}/__admin/scenarios/{action}",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        return res.status


def record(base_url, audio_dir, state):
    texts = {}
    for name in FILES:
        texts[name] = transcribe(base_url, GOOD, audio_dir / name).text
    check(any(texts.values()), "record: transcriptions through the proxy", texts)
    error = refused(base_url, audio_dir / FILES[0])
    check(error is not None and error["code"] == 4100, "record: a refused token through the proxy", error)
    state.write_text(json.dumps({"texts": texts, "error": error}, ensure_ascii=False))


def replay(base_url, audio_dir, state, record_dir):
    kept = json.loads(state.read_text())
    for name in FILES:
        got = transcribe(base_url, GOOD, audio_dir / name).text
        check(got == kept["texts"][name], f"replay: {name} gives the recorded text", repr(got))
    # Nothing secret in the committed folder: the SDK's token never reached it.
    written = "".join(p.read_text() for p in record_dir.rglob("*.toml"))
    check(GOOD not in written and REFUSED not in written, "replay: no token in the recorded files",
          f"{len(list(record_dir.rglob('*.toml')))} files")
    names = [p.stem for p in (record_dir / "scenarios").glob("coze-transcribe-4100-*.toml")]
    check(len(names) == 1, "replay: the refusal was recorded as one scenario", names)
    if names:
        scenario(base_url, "activate", names[0])
        try:
            transcribe(base_url, GOOD, audio_dir / FILES[0])
            got = None
        except CozeAPIError as e:
            got = {"code": e.code, "msg": e.msg}
        finally:
            scenario(base_url, "deactivate", names[0])
        check(got == kept["error"], "replay: the recorded refusal by its scenario name", got)


def main():
    mode, base_url, audio_dir, state = sys.argv[1:5]
    audio_dir, state = Path(audio_dir), Path(state)
    try:
        if mode == "record":
            record(base_url, audio_dir, state)
        else:
            replay(base_url, audio_dir, state, Path(sys.argv[5]))
    except Exception as e:  # a crash is a failure with its reason
        check(False, f"{mode}: unexpected error", repr(e))
    sys.exit(0 if results and all(results) else 1)


if __name__ == "__main__":
    main()
