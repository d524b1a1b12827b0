"""The pytest plugin, run in a pytest of its own: one server per session, reset before each
test; a marked test gets its own; the session's server stops with the session."""

from __future__ import annotations

import pytest
from test_process import gone_within

pytest_plugins = ["pytester"]


def test_session_server_marker_and_reset(pytester: pytest.Pytester) -> None:
    pid_file = pytester.path / "session.pid"
    pytester.makepyfile(
        f"""
        import pytest

        seen = []

        def test_first(asr_mock):
            seen.append(asr_mock.pid)
            asr_mock.activate("flaky-gateway")
            asr_mock.add_fixture("left over", sha256="11" * 32)

        def test_second_sees_the_same_server_reset(asr_mock):
            assert asr_mock.pid == seen[0]
            assert asr_mock.call("GET", "/__admin/scenarios")["active"]["global"] == []
            assert asr_mock.health()["fixtures"] == 0
            open({str(pid_file)!r}, "w").write(str(asr_mock.pid))

        @pytest.mark.asr_mock(seed=7, clock="manual")
        def test_marked_gets_its_own(asr_mock):
            assert asr_mock.pid != seen[0]
            assert asr_mock.health()["seed"] == 7

        @pytest.mark.asr_mock(7)
        def test_positional_settings_are_refused(asr_mock):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.asr_mock takes settings by name*"])
    assert gone_within(int(pid_file.read_text()), 5), "the session's server outlived the session"


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.asr_mock(**settings):*"])
