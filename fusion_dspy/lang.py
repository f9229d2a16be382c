"""Language identification (py3langid, offline), restricted to the languages the project evaluates."""

from __future__ import annotations

import re
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


_NAME_LIKE = re.compile(
    r"""^(?:[#@]\S+            # hashtags and handles
        |\S*(?:://|www\.)\S*   # links
        |\S*\d\S*             # anything with a digit: numbers, models (PA28, S24), dates
        |[^\w]*[A-Z][A-Z&.\-]{0,4}[^\w]*  # acronyms of up to five capitals (GB, USB-C, AT&T, NASA)
        |[^\w]*\w+[A-Z]\S*    # a capital inside a word: brands and tags (iPhone, TeaganAir, PlayStation)
        |[^\w]+                # symbols and emoji
    )$""",
    re.VERBOSE,
)
MOSTLY_NAMES_SHARE = 0.5
"""Below this share of its words being ordinary words, a text is mostly names, numbers or symbols: not judged."""


def _shouted(words: list[str]) -> bool:
    return sum(w.isupper() for w in words) > len(words) / 2


def evidence_words(text: str) -> list[str]:
    """The words of `text` that show its language: without hashtags, handles, links, numbers, codes, acronyms and
    brand-style names (`#PilotTraining`, `PA28`, `iPhone`, `256 GB`), which read the same in every language.
    A shouted text (mostly capitals) is read in lower case: its words are words, not acronyms."""
    words = text.split()
    if _shouted(words):
        words = [w.lower() for w in words]
    return [word for word in words if not _NAME_LIKE.match(word)]


def _names_only(words: list[str]) -> bool:
    """Every word capitalised (`Super Mario Maker`, `Samsung Galaxy Ultra`): names, which read the same in every
    language. A sentence has lower-case words in any cased script (articles, verbs, prepositions)."""
    initials = [next((ch for ch in word if ch.isalpha()), "") for word in words]
    return bool(words) and all(ch.isupper() for ch in initials if ch) and any(initials)


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def in_language(text: str, expected: str, languages: tuple[str, ...] = LANGUAGES, min_letters: int = 12) -> bool:
    """True when `text` is in `expected`, or cannot be judged: too short (under `min_letters` letters of ordinary
    words), or mostly names, numbers or symbols (`evidence_words`), so numbers, product names and hashtags are
    never penalised. Short text in Chinese characters alone counts as Japanese too (see AMBIGUOUS_HAN_LETTERS)."""
    words = evidence_words(text)
    if len(words) < MOSTLY_NAMES_SHARE * len(text.split()) or _names_only(words):
        return True
    evidence = " ".join(words)
    detected = detect_language(evidence, languages, min_letters)
    if expected == "ja" and detected == "zh":
        return _letters(evidence) < AMBIGUOUS_HAN_LETTERS
    return detected is None or detected == expected
