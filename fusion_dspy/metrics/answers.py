"""Short-answer match against a list of accepted answers (GeoFactX).

An answer earns credit when it equals an accepted answer, or contains one as a whole word or phrase without
hedging ("Paris or Lyon"), negating ("Not Tokyo, it is Osaka") or merely restating the question. Accepted
answers of one or two characters need an exact match, since as substrings they are everywhere ("は", "南").
"""

from __future__ import annotations

import re
import unicodedata

_PARENTHESES = re.compile(r"\([^)]*\)")
_DIGIT_BOUNDARY = re.compile(r"(?<=\d)(?=[^\d\s])|(?<=[^\d\s])(?=\d)")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an) ")
_UNIT_SUFFIX = re.compile(r"^(\d+) (?:年|年代|世紀|月|日|人|歳|ปี|km)$")
MIN_SUBSTRING_CHARS = 3

HEDGES_AND_NEGATIONS = {
    # whole words in space-separated text
    "words": {
        "or", "either", "nor", "neither", "not", "no", "isn't", "wasn't", "aren't", "weren't", "don't", "doesn't",
        "didn't", "cannot", "can't", "never", "maybe", "perhaps", "possibly", "probably", "unsure", "unknown",
        "या", "अथवा", "नहीं", "शायद", "au", "ama", "si", "sio", "siyo", "hapana", "labda", "sijui",
    },
    # substrings in text written without spaces (Japanese, Thai)
    "phrases": {
        "または", "あるいは", "もしくは", "ではなく", "ではない", "ではありません", "じゃない", "いいえ",
        "わかりません", "分かりません", "不明", "หรือ", "ไม่ใช่", "ไม่ทราบ", "ไม่แน่ใจ", "อาจจะ",
    },
}  # fmt: skip


def normalise_answer(text: str) -> str:
    """NFKC, lower case, punctuation and symbols to spaces, digits apart from letters (`1947年` → `1947 年`),
    single spaces. Combining marks stay: they are part of Devanagari and Thai words."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    kept = "".join(" " if unicodedata.category(ch)[0] in "PSZC" and ch != "'" else ch for ch in text)
    tokens = (token.strip("'") for token in _DIGIT_BOUNDARY.sub(" ", kept).split())
    return " ".join(token for token in tokens if token)


def _variants(accepted: str) -> set[str]:
    """An accepted answer and its other written forms: each part of `Name (Romanisation)`, without a leading
    English article, and a bare number for `1947年`-style answers."""
    forms = {accepted, _PARENTHESES.sub(" ", accepted)}
    forms.update(m.strip("()") for m in _PARENTHESES.findall(accepted))
    variants = {n for n in (normalise_answer(f) for f in forms) if n}
    variants |= {_LEADING_ARTICLE.sub("", v) for v in variants}
    variants |= {m.group(1) for v in variants if (m := _UNIT_SUFFIX.match(v))}
    return {v for v in variants if v}


def _hedged(rest: str) -> bool:
    """True when the text around a matched answer hedges, negates or says it does not know."""
    words = set(rest.split())
    return bool(words & HEDGES_AND_NEGATIONS["words"]) or any(p in rest for p in HEDGES_AND_NEGATIONS["phrases"])


def _contained(variant: str, got: str) -> str | None:
    """The prediction with `variant` cut out, when it holds `variant` as a whole word/phrase (or, in scripts
    written without spaces, as a substring of at least three characters); None otherwise."""
    padded = f" {got} "
    if f" {variant} " in padded:
        return padded.replace(f" {variant} ", " ", 1)
    if not variant.isascii() and len(variant) >= MIN_SUBSTRING_CHARS and variant in got:
        return got.replace(variant, " ", 1)
    return None


def answer_list_match(predicted: str, accepted: list[str], question: str = "") -> float:
    """1.0 when the normalised prediction equals an accepted answer, or contains one (see the module doc)
    that `question` does not already contain; else 0.0."""
    got = normalise_answer(predicted)
    if not got:
        return 0.0
    bare = _LEADING_ARTICLE.sub("", got)
    asked = f" {normalise_answer(question)} "
    variants = {v for answer in accepted for v in _variants(answer)}
    if got in variants or bare in variants:
        return 1.0
    for variant in variants:
        if f" {variant} " in asked or (not variant.isascii() and variant in asked):
            continue
        rest = _contained(variant, got)
        if rest is not None and not _hedged(rest):
            return 1.0
    return 0.0
