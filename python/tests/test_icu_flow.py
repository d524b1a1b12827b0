"""Provider B's whole flow on a manual clock: submit with a CallbackUrl to a local
receiver, `advance()`, poll to success, and the callback received. icu has no official
Python SDK, so the requests are plain HTTP (urllib)."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from typing import Any, Dict, List

import pytest
from conftest import AUDIO, CallbackReceiver

from asr_mock import AsrMock, AsrMockError

SPEECH = AUDIO / "speech-cmn-16k.wav"


def icu(mock: AsrMock, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
    request = urllib.request.Request(
        mock.base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def submit(mock: AsrMock, **extra: Any) -> int:
    body = {
        "EngineModelType": "16k_zh",
        "ChannelNum": 1,
        "ResTextFormat": 0,
        "SourceType": 1,
        "Data": base64.b64encode(SPEECH.read_bytes()).decode(),
        **extra,
    }
    answer = icu(mock, "/openapi/asr/voiceToText", body)
    assert answer["code"] == 0, answer
    return answer["data"]["TaskId"]


def poll(mock: AsrMock, task_id: int) -> Dict[str, Any]:
    answer = icu(mock, "/openapi/asr/searchResult", {"TaskId": task_id})
    assert answer["code"] == 0, answer
    return answer["data"]


def recorded_attempts(mock: AsrMock, task_id: int, timeout: float = 5.0) -> List[Dict[str, Any]]:
    """The simulator records an attempt once the receiver's answer is read, a moment after
    the receiver saw the body."""
    deadline = time.monotonic() + timeout
    while True:
        attempts = mock.callbacks(task_id)
        if attempts or time.monotonic() > deadline:
            return attempts
        time.sleep(0.02)


@pytest.mark.asr_mock(clock="manual", seed=7)
def test_submit_advance_poll_and_callback(asr_mock: AsrMock, callback_receiver: CallbackReceiver) -> None:
    task_id = submit(asr_mock, CallbackUrl=callback_receiver.url)
    assert poll(asr_mock, task_id)["StatusStr"] == "waiting"  # the clock stands still

    asr_mock.advance(10)  # the queue delay (≤ 3 s) and recognition (3 s of audio / 30)

    done = poll(asr_mock, task_id)
    assert done["StatusStr"] == "success", done
    assert done["Result"].startswith("[0:"), done["Result"]
    (callback,) = callback_receiver.wait_for(1)
    assert callback["requestId"] == str(task_id)
    assert callback["code"] == "0"
    assert callback["text"] == done["Result"], "poll and callback agree"
    (attempt,) = recorded_attempts(asr_mock, task_id)
    assert attempt["acknowledged"] is True and attempt["url"] == callback_receiver.url
    assert asr_mock.task(task_id)["status"] == "success"
    assert [t["task_id"] for t in asr_mock.tasks()] == [task_id]


@pytest.mark.asr_mock(clock="manual")
def test_a_forced_failure_and_a_refused_transition(asr_mock: AsrMock) -> None:
    task_id = submit(asr_mock)
    moved = asr_mock.transition(task_id, "failed", code=10005, message="Download failed")
    assert moved == {"task_id": task_id, "status": "failed"}
    failed = poll(asr_mock, task_id)
    assert (failed["StatusStr"], failed["ErrorMsg"]) == ("failed", "Download failed")
    with pytest.raises(AsrMockError) as refused:
        asr_mock.transition(task_id, "doing")
    assert refused.value.status == 409
    assert refused.value.message, "the server says why"


def test_the_same_seed_gives_the_same_task_ids() -> None:
    ids = []
    for _ in range(2):
        with AsrMock(clock="manual", seed=7) as mock:
            ids.append(submit(mock))
    assert ids[0] == ids[1]
    with AsrMock(clock="manual", seed=8) as other:
        assert submit(other) != ids[0]
