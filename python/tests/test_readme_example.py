import urllib.request

import pytest
from cozepy import Coze, CozeAPIError, TokenAuth


@pytest.fixture
def speech(asr_mock):
    # Any recording works; this one the simulator makes itself (3 s of speech-like sound).
    url = f"{asr_mock.base_url}/__admin/audio/generated/speechlike.wav?seconds=3"
    with urllib.request.urlopen(url) as answer:
        return answer.read()


def transcribe(asr_mock, token, audio):
    coze = Coze(auth=TokenAuth(token), base_url=asr_mock.base_url)  # the SDK, pointed here
    return coze.audio.transcriptions.create(file=audio).text


def test_transcribes(asr_mock, speech):  # the session's simulator, reset for this test
    assert transcribe(asr_mock, "pat_any", speech)  # text made from (seed, audio)


def test_fixed_text(asr_mock, speech, tmp_path):
    (tmp_path / "hello.wav").write_bytes(speech)
    asr_mock.add_fixture("你好呀", audio_path=tmp_path / "hello.wav")
    assert transcribe(asr_mock, "pat_any", speech) == "你好呀"


def test_revoked_token(asr_mock, speech):
    asr_mock.activate("coze-invalid-token", token="pat_old")
    with pytest.raises(CozeAPIError) as refused:
        transcribe(asr_mock, "pat_old", speech)
    assert refused.value.code == 4100
    assert transcribe(asr_mock, "pat_new", speech)


@pytest.mark.asr_mock(clock="manual", seed=7)  # a simulator of its own, on these settings
def test_time_stands_still_until_moved(asr_mock):
    before = asr_mock.health()["now_ms"]
    asr_mock.advance(3600)
    assert asr_mock.health()["now_ms"] == before + 3_600_000
