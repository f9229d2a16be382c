"""Exceptions with messages that name the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fusion_dspy.candidates import Candidate


class FusionError(Exception):
    """Base class for every error fusion-dspy raises on purpose."""


class ConfigurationError(FusionError, ValueError):
    """An argument or setting is invalid; the message says which and how to fix it."""


class SignatureError(ConfigurationError):
    """The task signature of a module could not be derived."""


class LocalModelError(FusionError):
    """The embedded model is missing, corrupt or could not be started."""


class FusorError(FusionError):
    """The fusor fails for a reason that will not go away (bad API key, unknown model, rejected request)."""


class TooManyFailuresError(FusionError):
    """More candidate calls failed than `fail_count` allows."""

    def __init__(self, failed: list[Candidate], total: int, fail_count: int) -> None:
        self.failed = failed
        reasons = sorted({c.error or "unknown error" for c in failed})
        super().__init__(
            f"{len(failed)} of {total} candidate calls failed, more than fail_count={fail_count} allows: "
            + "; ".join(reasons[:3])
            + ". Raise fail_count (or leave it unset: failed candidates are then kept as data)."
        )


class AllCandidatesFailedError(FusionError):
    """Every candidate call failed, so there is nothing to fuse or select."""

    def __init__(self, failed: list[Candidate]) -> None:
        self.failed = failed
        reasons = sorted({c.error or "unknown error" for c in failed})
        hint = _hint_for(reasons)
        super().__init__(
            f"all {len(failed)} candidate calls failed: " + "; ".join(reasons[:3]) + (f". {hint}" if hint else "")
        )


def _hint_for(reasons: list[str]) -> str:
    text = " ".join(reasons).lower()
    if "connect" in text or "connection" in text:
        return "Check that the model server is running and that --api-base / FUSION_DSPY_API_BASE points at it."
    if "api key" in text or "api_key" in text or "authentication" in text:
        return "Set the provider's API key in the environment (for example OPENAI_API_KEY)."
    if "not found" in text or "does not exist" in text:
        return "Check the model name; run `fusion-dspy run --help` for the accepted forms."
    return ""
