"""`AsrMock` itself: settings, start-up errors, the helpers' errors, TLS and the admin token."""

from __future__ import annotations

import datetime
import http.client
import json
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from asr_mock import AsrMock, AsrMockError, AsrMockStartError
from asr_mock._settings import settings_to_args


def test_settings_become_flags() -> None:
    start = datetime.datetime(2025, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)
    args = settings_to_args(
        {
            "seed": 7,
            "time_scale": 2.5,
            "tokens": Path("/x/tokens.toml"),
            "allowed_host": ["a.test", "b.test"],
            "ws_auth_handshake": True,
            "callback_empty_result_detail": False,
            "fixtures": None,
            "clock_start": start,
            "admin_token": "-starts-with-a-dash",
        }
    )
    assert args == [
        "--seed=7",
        "--time-scale=2.5",
        "--tokens=/x/tokens.toml",
        "--allowed-host=a.test",
        "--allowed-host=b.test",
        "--ws-auth-handshake",
        "--clock-start=2025-03-01T08:00:00+00:00",
        "--admin-token=-starts-with-a-dash",
    ]


@pytest.mark.parametrize(
    ("settings", "error", "words"),
    [
        ({"host": "0.0.0.0"}, ValueError, "always binds 127.0.0.1"),
        ({"Seed": 1}, ValueError, "not a flag name"),
        ({"seed": {"a": 1}}, TypeError, "dict is not a flag value"),
        ({"clock_start": datetime.datetime(2025, 1, 1)}, ValueError, "timezone-aware"),
    ],
)
def test_settings_refused_before_starting(settings: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        AsrMock(**settings)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"clock": "sideways"}, "invalid value 'sideways' for '--clock <CLOCK>'"),
        ({"no_such_flag": 1}, "unexpected argument '--no-such-flag'"),
        ({"tokens": "/nonexistent/tokens.toml"}, "/nonexistent/tokens.toml"),
    ],
)
def test_a_bad_setting_stops_start_up_with_the_binarys_message(settings: dict, words: str) -> None:
    with pytest.raises(AsrMockStartError) as failed:
        AsrMock(**settings)
    assert "exited with code 2 before listening" in str(failed.value)
    assert words in str(failed.value)


def test_a_missing_binary_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASR_MOCK_BIN", str(tmp_path / "nope"))
    with pytest.raises(AsrMockStartError, match=r"\$ASR_MOCK_BIN is .*nope.*not an executable file"):
        AsrMock()


@pytest.mark.asr_mock(seed=7, clock="manual", icu_progress="polls")
def test_marker_settings_reach_the_server(asr_mock: AsrMock) -> None:
    assert asr_mock.health()["seed"] == 7
    assert asr_mock.call("GET", "/__admin/clock")["mode"] == {"mode": "manual"}
    assert asr_mock.call("GET", "/__admin/icu/settings")["progress"]["mode"] == "polls"
    before = asr_mock.health()["now_ms"]
    assert asr_mock.advance(datetime.timedelta(minutes=1))["now_ms"] == before + 60_000
    assert asr_mock.advance(0.5)["now_ms"] == before + 60_500


def test_control_errors_carry_the_servers_message(asr_mock: AsrMock) -> None:
    with pytest.raises(AsrMockError) as missing:
        asr_mock.task(12345)
    assert (missing.value.status, missing.value.message) == (404, "no task 12345")
    assert str(missing.value) == "GET /__admin/tasks/12345: 404 no task 12345"
    with pytest.raises(AsrMockError) as unknown:
        asr_mock.activate("no-such-scenario")
    assert unknown.value.status == 404 and "no-such-scenario" in unknown.value.message
    with pytest.raises(AsrMockError) as negative:
        asr_mock.advance(-1)
    assert negative.value.status == 400 and "finite number >= 0" in negative.value.message
    with pytest.raises(AsrMockError) as bad_code:
        asr_mock.call("POST", "/__admin/tasks/1/transition", {"status": "failed", "code": 42})
    assert bad_code.value.status == 400


def test_arguments_checked_before_sending(asr_mock: AsrMock) -> None:
    with pytest.raises(ValueError, match="finite"):
        asr_mock.advance(float("nan"))
    with pytest.raises(TypeError):
        asr_mock.advance("10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a TaskId"):
        asr_mock.task("12/../../health")
    with pytest.raises(ValueError, match="exactly one"):
        asr_mock.add_fixture("text")
    with pytest.raises(ValueError, match="status 'done'"):
        asr_mock.tasks(status="done")


def test_reset_forgets_what_tests_left(asr_mock: AsrMock) -> None:
    asr_mock.activate("flaky-gateway")
    asr_mock.add_fixture("x", sha256="00" * 32)
    assert asr_mock.health()["fixtures"] == 1
    assert asr_mock.reset() == {"reset": True}
    assert asr_mock.health()["fixtures"] == 0
    assert asr_mock.call("GET", "/__admin/scenarios")["active"] == {"global": [], "by_token": {}}


def test_tls_self_signed(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    with AsrMock(tls_self_signed=cert) as mock:
        assert mock.base_url.startswith("https://127.0.0.1:")
        assert mock.health()["status"] == "ok"  # over TLS, trusting the written certificate


def test_the_admin_token_is_sent(tmp_path: Path) -> None:
    with AsrMock(admin_token="s3cret") as mock:
        assert mock.tasks() == []
        url = urllib.parse.urlsplit(mock.base_url)
        plain = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        plain.request("GET", "/__admin/tasks")
        refused = plain.getresponse()
        assert refused.status == 401, "without the token the same call is refused"
        assert "admin token" in json.load(refused)["error"]
        plain.close()


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-ins for the binary")
def test_a_binary_that_never_says_where_it_listens(tmp_path: Path) -> None:
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\necho 'warming up' >&2\nexec sleep 30\n")
    silent.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(AsrMockStartError, match="printed no address within 0.5 s: warming up"):
        AsrMock(binary=str(silent), startup_timeout=0.5)
    assert time.monotonic() - started < 10, "the stand-in was stopped, not waited for"

    chatty = tmp_path / "chatty"
    chatty.write_text("#!/bin/sh\necho 'hello there'\nexec sleep 30\n")
    chatty.chmod(0o755)
    with pytest.raises(AsrMockStartError, match="printed 'hello there' instead of its address"):
        AsrMock(binary=str(chatty))
