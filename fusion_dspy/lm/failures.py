"""Tell LM failures that will not go away (bad key, unknown model, rejected request) from passing ones."""

from __future__ import annotations

import logging
import threading
from typing import Literal

from dspy.utils.exceptions import (
    ContextWindowExceededError,
    LMAuthError,
    LMBillingError,
    LMConfigurationError,
    LMInvalidRequestError,
    LMUnsupportedFeatureError,
    LMUnsupportedModelError,
)

from fusion_dspy.errors import ConfigurationError, LocalModelError

logger = logging.getLogger(__name__)
OnPermanentError = Literal["raise", "select"]
EMBEDDED_CANNOT_START = "the embedded model cannot start"

_BY_STATUS = {
    401: "authentication failed (HTTP 401)",
    403: "access denied (HTTP 403)",
    404: "unknown model or endpoint (HTTP 404)",
    400: "the request was rejected as invalid (HTTP 400)",
    422: "the request was rejected as invalid (HTTP 422)",
}
_BY_NAME = {
    "AuthenticationError": _BY_STATUS[401],
    "PermissionDeniedError": _BY_STATUS[403],
    "NotFoundError": _BY_STATUS[404],
    "BadRequestError": _BY_STATUS[400],
}
HINTS = {
    _BY_STATUS[401]: "Set the provider's API key (e.g. OPENAI_API_KEY, or api_key= on the LM).",
    _BY_STATUS[403]: "Check that the API key may use this model.",
    _BY_STATUS[404]: "Check the model name and --api-base; `fusion-dspy run --help` lists the accepted forms.",
    _BY_STATUS[400]: "Check the model's settings (max_tokens, temperature, response format) for this provider.",
    EMBEDDED_CANNOT_START: "Install or repair it as the message says, or choose another model (lm=..., "
    "dspy.configure(lm=...) or FUSION_DSPY_MODEL).",
}


def permanent_cause(exc: BaseException) -> str | None:
    """Why `exc` will happen again on every call, or None when a retry or another input may succeed
    (timeouts, rate limits, server errors, dropped connections, unparseable answers, a too-long prompt)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = _cause_of(current)
        if cause is not None:
            return cause
        current = current.__cause__ or current.__context__
    return None


def _cause_of(exc: BaseException) -> str | None:
    if isinstance(exc, ContextWindowExceededError):
        return None
    if isinstance(exc, LocalModelError):
        return EMBEDDED_CANNOT_START
    if isinstance(exc, LMAuthError):
        return _BY_STATUS[401]
    if isinstance(exc, LMBillingError):
        return "billing or quota exhausted"
    if isinstance(exc, LMUnsupportedModelError):
        return _BY_STATUS[404]
    if isinstance(exc, LMInvalidRequestError):
        return _BY_STATUS.get(getattr(exc, "status", None) or 400, _BY_STATUS[400])
    if isinstance(exc, LMConfigurationError | LMUnsupportedFeatureError | ConfigurationError):
        return "the model is not configured correctly"
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    if isinstance(status, int) and status in _BY_STATUS:
        return _BY_STATUS[status]
    return _BY_NAME.get(type(exc).__name__)


def hint_for(cause: str) -> str:
    return HINTS.get(cause, "Fix the model or its settings.")


def detail_of(exc: BaseException) -> str:
    """One line naming the error: its type and first line (whole for our own errors, which name the fix; provider
    errors run to pages)."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first if isinstance(exc, LocalModelError) else first[:200]}"


def permanent_failure(
    exc: BaseException, who: str, on_permanent_error: OnPermanentError, error: type[Exception], instead: str
) -> str | None:
    """For a failed call of `who` (the fusor, the judge): None when a retry or another input may succeed. When it
    will fail on every call, raise `error` naming the fix (and `instead`: how to carry on without it), or, with
    `on_permanent_error="select"`, log that once per cause and return the cause (the caller carries on)."""
    cause = permanent_cause(exc)
    if cause is None:
        return None
    detail = detail_of(exc)
    if on_permanent_error == "raise":
        raise error(f"the {who} cannot run: {cause} ({detail}). {hint_for(cause)} {instead}") from exc
    warn_once(who, cause, detail)
    return cause


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_once(who: str, cause: str, detail: str) -> None:
    """One warning per (component, cause) per process: the same broken key must not flood a batch run's log."""
    with _warned_lock:
        if (who, cause) in _warned:
            return
        _warned.add((who, cause))
    logger.warning(
        "the %s cannot run: %s (%s); every call carries on without it until this is fixed. %s",
        who,
        cause,
        detail,
        hint_for(cause),
    )
