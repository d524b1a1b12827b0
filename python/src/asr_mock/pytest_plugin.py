"""pytest plugin (entry point `pytest11`): the `asr_mock` fixture.

    def test_transcribes(asr_mock):             # the session's server, reset first
        coze = Coze(auth=TokenAuth("pat_x"), base_url=asr_mock.base_url)

    @pytest.mark.asr_mock(clock="manual", seed=7)
    def test_icu(asr_mock):                     # a server of its own, with these settings
        asr_mock.advance(10)
"""

from __future__ import annotations

from typing import Iterator

import pytest

from ._server import AsrMock

MARKER = "asr_mock"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): give the test its own asr-mock server started with these "
        "settings (the binary's flags, `_` for `-`), instead of the session's shared one",
    )


@pytest.fixture(scope="session")
def asr_mock_session() -> Iterator[AsrMock]:
    """One simulator for the whole session, on default settings, started on first use.
    Tests normally take `asr_mock`, which resets it first."""
    with AsrMock() as server:
        yield server


@pytest.fixture
def asr_mock(request: pytest.FixtureRequest) -> Iterator[AsrMock]:
    """The session's simulator, reset before the test (journal, tasks, callbacks, fixtures
    and scenario activations are gone; the clock keeps running). A test marked
    `@pytest.mark.asr_mock(**settings)` gets a server of its own instead, stopped after it."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        server: AsrMock = request.getfixturevalue("asr_mock_session")
        server.reset()
        yield server
        return
    if marker.args:
        pytest.fail(
            f"@pytest.mark.{MARKER} takes settings by name, e.g. {MARKER}(clock='manual', seed=7); "
            f"got positional {marker.args!r}",
            pytrace=False,
        )
    with AsrMock(**marker.kwargs) as server:
        yield server
