"""DSPy's end marker `[[ ## completed ## ]]` in model text, in every form a model writes it, and its removal.

ChatAdapter drops the marker only when it stands alone on its line. Small models write it inline (`Mars [[ ##
completed ## ]]`), copy it with full-width hashes (`[[ ＃＃ completed ＃＃ ]]`, how a rendered pool shows it), break
it (`[[ ## completed ## ]`, `## completed ## ]]`) or get cut off inside it (`[[ ## compl`). None of that is part
of an answer, so every output that enters a pool, a fused answer or a stored record passes through `clean`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ModelWrapValidatorHandler, PrivateAttr, model_validator

# The marker as DSPy writes it, and as a rendered pool shows it (what a fusor copies).
END_MARKERS = ("[[ ## completed ## ]]", "[[ ＃＃ completed ＃＃ ]]")

_HASH = "[#＃﹟]"
_OPEN = r"[\[［]"
_CLOSE = r"[\]］]"
_WORD = "completed"
_PREFIX_OF_WORD = "".join(f"(?:{ch}" for ch in _WORD) + ")?" * len(_WORD)

_ANYWHERE = re.compile(
    rf"{_OPEN}{{2}}\s*{_HASH}*\s*{_WORD}\s*{_HASH}*\s*{_CLOSE}{{0,2}}"  # [[ ## completed ## ]], [[completed]]
    rf"|{_OPEN}\s*{_HASH}+\s*{_WORD}\s*{_HASH}*\s*{_CLOSE}{{0,2}}"  # [ ## completed ## ]
    rf"|{_HASH}+\s*{_WORD}\s*{_HASH}+\s*{_CLOSE}{{1,2}}",  # ## completed ## ]]
    re.IGNORECASE,
)
_CUT_OFF_AT_END = re.compile(
    rf"{_OPEN}{{1,2}}\s*{_HASH}+\s*{_PREFIX_OF_WORD}\s*{_HASH}*\s*{_CLOSE}?\s*\Z", re.IGNORECASE
)
_AROUND = re.compile(rf"(\n*)[^\S\n]*(?:{_ANYWHERE.pattern}|{_CUT_OFF_AT_END.pattern})[^\S\n]*(\n*)", re.IGNORECASE)


def has_marker(text: str) -> bool:
    return bool(_ANYWHERE.search(text) or _CUT_OFF_AT_END.search(text))


def strip_markers(text: str) -> str:
    """`text` without end markers; a marker between two pieces of text leaves a space or its line breaks."""
    if not has_marker(text):
        return text
    return _AROUND.sub(lambda m: max(m.group(1), m.group(2), key=len) or " ", text).strip()


def clean(value: Any) -> Any:
    """Strip end markers from a string, or from every string inside lists, tuples and dicts; other values as is."""
    if isinstance(value, str):
        return strip_markers(value)
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items()}
    if type(value) is list:
        return [clean(item) for item in value]
    if type(value) is tuple:  # a plain tuple only: a named tuple or a model is a typed value, left as it is
        return tuple(clean(item) for item in value)
    return value


class MarkerFree(BaseModel):
    """A model whose model-text fields (`text_fields`) lose their end markers whenever it is built or read back.

    Stored pools and answers written before markers were stripped come back clean; `markers_stripped` says that
    this row's text changed on the way in (so a score computed on the old text is stale).
    """

    text_fields: ClassVar[tuple[str, ...]] = ()
    _markers_stripped: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _strip_markers(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if isinstance(data, cls):
            return handler(data)
        changed = False
        if isinstance(data, dict) and any(name in data for name in cls.text_fields):
            cleaned = {name: clean(value) if name in cls.text_fields else value for name, value in data.items()}
            changed, data = cleaned != data, cleaned
        model = handler(data)
        model._markers_stripped = changed
        return model

    @property
    def markers_stripped(self) -> bool:
        return self._markers_stripped
