"""Exceptions with messages that name the fix."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
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


class JudgeError(FusorError):
    """A judge (`JudgeScorer`, `PairwiseScorer`) fails for a reason that will not go away; a `FusorError` too, so
    one `except` catches an aggregation that can never run."""


class TooManyFailuresError(FusionError):
    """More candidate calls failed than `fail_count` allows."""

    def __init__(self, failed: list[Candidate], total: int, fail_count: int) -> None:
        self.failed = failed
        causes = list(dict.fromkeys(cause_of(c.error or "unknown error") for c in failed))
        super().__init__(
            f"{len(failed)} of {total} candidate calls failed, more than fail_count={fail_count} allows: "
            + "; ".join(causes[:3])
            + ". Raise fail_count (or leave it unset: failed candidates are then kept as data)."
        )


class AllCandidatesFailedError(FusionError):
    """Every candidate call failed, so there is nothing to fuse or select."""

    def __init__(self, failed: list[Candidate]) -> None:
        self.failed = failed
        causes = list(dict.fromkeys(cause_of(c.error or "unknown error") for c in failed))
        head = f"all {len(failed)} candidate calls failed"
        if len(causes) == 1:
            super().__init__(f"{head}: {causes[0]}")
        else:
            super().__init__(f"{head}:\n" + "\n".join(f"  - {cause}" for cause in causes[:5]))


_ENV_VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:API_KEY|KEY|TOKEN)\b")
_MODEL = re.compile(r"^\s*\[([^\]]+)\]")
_HOST = re.compile(r"\bto ([\w.-]+:\d+)")


def cause_of(error: str) -> str:
    """A candidate's error text as one line saying what went wrong and what to set (the full text stays on the
    candidate). Provider errors run to several lines of advice written for library code; this is for people."""
    kind, _, detail = error.partition(": ")
    lines = [line.strip() for line in detail.splitlines() if line.strip()] or [error.strip()]
    first = lines[0]
    model_match = _MODEL.match(first)
    model = model_match.group(1) if model_match else "the model"
    first = _MODEL.sub("", first).strip()
    text = error.lower()
    if "no api key" in text or ("api key" in text and "missing" in text):
        names = " or ".join(dict.fromkeys(_ENV_VARIABLE.findall(error))) or "the provider's API key variable"
        return f"no API key for {model}: set {names} in the environment"
    if "authentication" in text or "invalid api key" in text or "401" in first:
        names = " or ".join(dict.fromkeys(_ENV_VARIABLE.findall(error))) or "its API key variable"
        return f"{model} refused the API key: check {names}"
    if "connect" in text and "timeout" not in kind.lower():
        host = _HOST.search(error)
        where = f" at {host.group(1)}" if host else ""
        return f"cannot connect to the model server{where}: start it, or point --api-base / FUSION_DSPY_API_BASE at it"
    if "ratelimit" in kind.lower() or "rate limit" in text:
        return f"{model} rate-limited the calls: wait and rerun, or ask for fewer at once (-n, --concurrency)"
    if "servererror" in kind.lower():
        return f"the server of {model} failed ({first}): rerun later, or check the server if it persists"
    if "not found" in text or "does not exist" in text or "notfound" in kind.lower():
        return f"{model} was not found: check the model name (--model, FUSION_DSPY_MODEL)"
    return f"{kind}: {first}"[:300] if detail else error.strip()[:300]


def exit_on_error(main: Callable[[], object]) -> None:
    """Run a `python -m` entry point the way every `fusion-dspy` command runs: an error fusion-dspy raises on
    purpose (its message names the fix) is one line on stderr and exit code 2, never a traceback."""
    try:
        main()
    except FusionError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        raise SystemExit(2) from None
