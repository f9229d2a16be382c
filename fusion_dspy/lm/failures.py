"""Tell LM failures that will not go away (bad key, unknown model, rejected request) from passing ones."""

from __future__ import annotations

from dspy.utils.exceptions import (
    ContextWindowExceededError,
    LMAuthError,
    LMBillingError,
    LMConfigurationError,
    LMInvalidRequestError,
    LMUnsupportedFeatureError,
    LMUnsupportedModelError,
)

from fusion_dspy.errors import ConfigurationError

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
    return HINTS.get(cause, "Fix the fusor's model or settings.")
