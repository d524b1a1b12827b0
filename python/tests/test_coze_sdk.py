"""Provider A through the official Coze Python SDK (cozepy), unchanged: only its base URL
points at the simulator the `asr_mock` fixture started."""

from __future__ import annotations

import hashlib
import re
import urllib.request

import pytest
from conftest import AUDIO, TOKENS
from cozepy import Coze, CozeAPIError, TokenAuth

from asr_mock import AsrMock

SPEECH = AUDIO / "speech-cmn-16k.wav"
# 14 digits of Beijing time + 20 uppercase hex digits.
LOGID = re.compile(r"^\d{14}[0-9A-F]{20}$")


def transcribe(mock: AsrMock, token: str, audio: object = SPEECH) -> str:
    coze = Coze(auth=TokenAuth(token), base_url=mock.base_url)
    if isinstance(audio, bytes):
        return coze.audio.transcriptions.create(file=audio).text
    with open(audio, "rb") as f:  # type: ignore[arg-type]
        return coze.audio.transcriptions.create(file=f).text


def test_transcription_answers_text_and_a_logid(asr_mock: AsrMock) -> None:
    coze = Coze(auth=TokenAuth("pat_anything"), base_url=asr_mock.base_url)
    with open(SPEECH, "rb") as f:
        result = coze.audio.transcriptions.create(file=f)
    assert result.text.strip(), "speech should give text"
    assert LOGID.match(result.response.logid or ""), result.response.logid
    # The journal saw the same request, with the logid the SDK read.
    (entry,) = asr_mock.requests(limit=1)
    assert (entry["path"], entry["status"], entry["code"]) == ("/v1/audio/transcriptions", 200, 0)
    assert entry["id"] == result.response.logid


def test_a_fixture_decides_the_text(asr_mock: AsrMock) -> None:
    asr_mock.add_fixture("你好呀", audio_path=SPEECH)
    assert transcribe(asr_mock, "pat_anything") == "你好呀"
    # By hash: audio the simulator generates itself.
    with urllib.request.urlopen(f"{asr_mock.base_url}/__admin/audio/generated/speechlike.wav?seconds=3") as r:
        generated = r.read()
    asr_mock.add_fixture("合成的语音", sha256=hashlib.sha256(generated).hexdigest())
    assert transcribe(asr_mock, "pat_anything", generated) == "合成的语音"
    assert asr_mock.health()["fixtures"] == 2


@pytest.mark.asr_mock(tokens=TOKENS)
def test_a_token_not_in_the_tokens_file_gets_4100(asr_mock: AsrMock) -> None:
    with pytest.raises(CozeAPIError) as refused:
        transcribe(asr_mock, "pat_unlisted")
    assert refused.value.code == 4100
    assert refused.value.msg == "authentication is invalid"
    assert transcribe(asr_mock, "pat_listed").strip()


def test_a_scenario_activated_for_one_token(asr_mock: AsrMock) -> None:
    active = asr_mock.activate("coze-invalid-token", token="pat_old")
    assert active["by_token"] == {"pat_old": ["coze-invalid-token"]}
    with pytest.raises(CozeAPIError) as refused:
        transcribe(asr_mock, "pat_old")
    assert refused.value.code == 4100
    assert transcribe(asr_mock, "pat_new").strip(), "other tokens are not affected"
    asr_mock.deactivate("coze-invalid-token", token="pat_old")
    assert transcribe(asr_mock, "pat_old").strip()
