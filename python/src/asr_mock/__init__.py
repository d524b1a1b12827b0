"""asr-mock for Python: the bundled simulator of the Coze transcription API and the icu
recording-file ASR API, started from a test on a free port.

    from asr_mock import AsrMock

    with AsrMock(clock="manual", seed=7) as mock:
        mock.base_url        # http://127.0.0.1:PORT: point the SDK under test here
        mock.advance(10)     # simulated time moves on; tasks finish, callbacks go out

The pytest plugin (installed with the package) adds the `asr_mock` fixture and the
`@pytest.mark.asr_mock(**settings)` marker; `python -m asr_mock` runs the server.
"""

from ._binary import find_asr_mock_bin
from ._errors import AsrMockError, AsrMockStartError
from ._server import AsrMock, Json

__all__ = ["AsrMock", "AsrMockError", "AsrMockStartError", "Json", "find_asr_mock_bin"]
