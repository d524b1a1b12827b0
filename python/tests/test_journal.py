"""`find()` and `count()`: verifying what was sent, as WireMock does, against requests sent
here over plain HTTP (icu has no Python SDK; cozepy's own check is scripts/sdk/)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import urllib.request
from typing import Any, Dict

import pytest
from conftest import AUDIO

from asr_mock import AsrMock, AsrMockError

SPEECH = AUDIO / "speech-cmn-16k.wav"


def icu_submit(mock: AsrMock, body: Dict[str, Any], headers: Dict[str, str]) -> Dict[str, Any]:
    request = urllib.request.Request(
        mock.base_url + "/openapi/asr/voiceToText",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_find_and_count_verify_what_was_sent(asr_mock: AsrMock) -> None:
    audio = SPEECH.read_bytes()
    body = {
        "EngineModelType": "16k_zh",
        "ChannelNum": 1,
        "ResTextFormat": 0,
        "SourceType": 1,
        "Data": base64.b64encode(audio).decode(),
    }
    secret = "Bearer a-secret-credential-7890"
    assert icu_submit(asr_mock, body, {"Authorization": secret})["code"] == 0
    assert asr_mock.count() == 1
    found = asr_mock.find(provider="icu", method="post", path="/openapi/asr/voiceToText")
    assert len(found) == 1
    entry = found[0]
    assert entry["headers"]["authorization"] == "Bearer …7890"
    assert "a-secret-credential" not in json.dumps(entry)
    assert entry["body"]["kind"] == "params"
    assert entry["body"]["params"]["Data"] == {"size": len(audio), "sha256": hashlib.sha256(audio).hexdigest()}
    # Every field must match; a miss is zero, not an error.
    assert asr_mock.count(header={"Authorization": "Bearer …7890"}, parameter={"EngineModelType": "16k_zh"}) == 1
    assert asr_mock.count(parameter={"EngineModelType": "8k_zh"}) == 0
    assert asr_mock.count(path_pattern="/openapi/.*", status=200, code=0) == 1
    assert asr_mock.count(provider="coze") == 0
    now = datetime.datetime.fromtimestamp(asr_mock.health()["now_ms"] / 1000, datetime.timezone.utc)
    assert asr_mock.count(since=now - datetime.timedelta(minutes=1)) == 1
    assert asr_mock.count(since=asr_mock.health()["now_ms"] + 60_000) == 0
    assert len(asr_mock.find(limit=1)) == 1


@pytest.mark.parametrize(
    ("matcher", "field"),
    [
        ({"path_pattern": "("}, "pathPattern"),
        ({"provider": "aws"}, "provider"),
        ({"since": "yesterday"}, "since"),
        ({"status": 42}, "status"),
    ],
)
def test_a_bad_matcher_names_its_field(asr_mock: AsrMock, matcher: Dict[str, Any], field: str) -> None:
    with pytest.raises(AsrMockError, match=field) as raised:
        asr_mock.count(**matcher)
    assert raised.value.status == 400


def test_a_naive_since_is_refused_here(asr_mock: AsrMock) -> None:
    with pytest.raises(ValueError, match="aware"):
        asr_mock.find(since=datetime.datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="limit"):
        asr_mock.find(limit=0)
