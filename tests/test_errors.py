"""Provider errors become one line naming what to set; the candidate keeps the full text."""

import pytest

from fusion_dspy.candidates import Candidate
from fusion_dspy.errors import AllCandidatesFailedError, cause_of

NO_KEY = (
    "LMNotConfiguredError: [openai/gpt-4o-mini] no API key found for provider 'openai-chat'. Set OPENAI_API_KEY in "
    'the environment, or pass api_key="..." to dspy.LM(...).\n\n  To fix:\n    - Pass the key explicitly (api_key= on '
    "dspy.LM), or on a host with an environment set OPENAI_API_KEY=...\n    - Configure credentials for openai-chat"
)


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (NO_KEY, "no API key for openai/gpt-4o-mini: set OPENAI_API_KEY in the environment"),
        (
            "LMNotConfiguredError: [gemini/gemini-1.5-flash] no API key found for provider 'gemini'. Set "
            'GEMINI_API_KEY or GOOGLE_API_KEY in the environment, or pass api_key="..." to dspy.LM(...).',
            "no API key for gemini/gemini-1.5-flash: set GEMINI_API_KEY or GOOGLE_API_KEY in the environment",
        ),
        (
            "LMTransportError: [openai/x] failed to connect to 127.0.0.1:9: [Errno 111] Connect call failed",
            "cannot connect to the model server at 127.0.0.1:9: start it, or point --api-base / FUSION_DSPY_API_BASE "
            "at it",
        ),
        (
            "LMRateLimitError: [openai/fake] rate limited\n  To fix:\n    - Wait a moment and retry",
            "openai/fake rate-limited the calls: wait and rerun, or ask for fewer at once (-n, --concurrency)",
        ),
        (
            "LMServerError: [openai/fake] internal error",
            "the server of openai/fake failed (internal error): rerun later, or check the server if it persists",
        ),
        ("TimeoutError: no answer within 1.0 s", "TimeoutError: no answer within 1.0 s"),
    ],
)
def test_each_cause_is_one_line_naming_what_to_set(error, cause):
    assert cause_of(error) == cause


def test_repeated_causes_are_reported_once():
    failed = [Candidate(index=i, error=NO_KEY) for i in range(3)]
    message = str(AllCandidatesFailedError(failed))
    assert (
        message
        == "all 3 candidate calls failed: no API key for openai/gpt-4o-mini: set OPENAI_API_KEY in the environment"
    )
    assert "api_key=" not in message and "\n" not in message
    mixed = [*failed, Candidate(index=3, error="TimeoutError: no answer within 5 s")]
    assert str(AllCandidatesFailedError(mixed)).splitlines()[1:] == [
        "  - no API key for openai/gpt-4o-mini: set OPENAI_API_KEY in the environment",
        "  - TimeoutError: no answer within 5 s",
    ]
