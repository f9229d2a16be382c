"""Language identification (py3langid, offline), restricted to the languages the project evaluates."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

LANGUAGES = ("ar", "bn", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "ru", "sw", "te", "th", "zh")

_lock = threading.Lock()


@cache
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def detect_language(text: str, languages: tuple[str, ...] = LANGUAGES, min_letters: int = 3) -> str | None:
    """ISO 639-1 code of `text` among `languages`; None when it has too few letters to tell (e.g. "42")."""
    if sum(ch.isalpha() for ch in text) < min_letters:
        return None
    with _lock:
        code, _ = _identifier(tuple(languages)).classify(text)
    return str(code)


def in_language(text: str, expected: str, languages: tuple[str, ...] = LANGUAGES, min_letters: int = 12) -> bool:
    """True when `text` is in `expected`, or too short to tell (numbers and names are not penalised)."""
    detected = detect_language(text, languages, min_letters)
    return detected is None or detected == expected
