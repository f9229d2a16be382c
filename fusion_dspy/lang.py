"""Language identification (py3langid, offline), restricted to the languages the project evaluates."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

LANGUAGES = ("ar", "bn", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "ru", "sw", "te", "th", "zh")
AMBIGUOUS_HAN_LETTERS = 30
"""Below this many letters, text in Chinese characters alone (no kana) may be Japanese as well as Chinese:
kanji-heavy Japanese such as the headline "日本銀行総裁記者会見要旨" is identified as Chinese."""

_lock = threading.Lock()


@cache
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def _has_kana(text: str) -> bool:
    return any(0x3040 <= ord(ch) <= 0x30FF for ch in text)


def detect_language(text: str, languages: tuple[str, ...] = LANGUAGES, min_letters: int = 3) -> str | None:
    """ISO 639-1 code of `text` among `languages`; None when it has too few letters to tell (e.g. "42").
    Text with kana is Japanese: Chinese is never written with them."""
    if sum(ch.isalpha() for ch in text) < min_letters:
        return None
    if "ja" in languages and _has_kana(text):
        return "ja"
    with _lock:
        code, _ = _identifier(tuple(languages)).classify(text)
    return str(code)


def in_language(text: str, expected: str, languages: tuple[str, ...] = LANGUAGES, min_letters: int = 12) -> bool:
    """True when `text` is in `expected`, or too short to tell (numbers and names are not penalised).
    Short text in Chinese characters alone counts as Japanese too (see AMBIGUOUS_HAN_LETTERS)."""
    detected = detect_language(text, languages, min_letters)
    if expected == "ja" and detected == "zh":
        return sum(ch.isalpha() for ch in text) < AMBIGUOUS_HAN_LETTERS
    return detected is None or detected == expected
