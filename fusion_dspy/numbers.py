"""Reading the final number of an answer, by the number conventions of its language.

MGSM answers are integers, often ≥ 1000, written by models in each language's own style: `1.000` (German
thousands), `1 000` (French), `12,50` (decimal comma), `−5` (U+2212), `十八` (Chinese numerals). One parser
serves the math metric and majority voting, so both read an answer the same way.
"""

from __future__ import annotations

import re
import unicodedata

DECIMAL_COMMA = frozenset({"de", "es", "fr", "it", "pt", "ru"})
"""Languages that write 3,5 for three and a half and 1.000 (or 1 000) for a thousand."""

_SIGNS = "-\u2212\u2012\u2013\ufe63"
_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z_])(?<!\d[.,])(?P<sign>[{_SIGNS}]?)"
    r"(?P<body>\d+(?:[.,'\u00a0\u202f\u2009]\d+|[ ]\d{3}(?!\d))*)"
)
_PARENTHESES = re.compile(r"[(（][^()（）]*[)）]")
_CJK_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
               "八": 8, "九": 9}  # fmt: skip
_CJK_SMALL = {"十": 10, "百": 100, "千": 1000}
_CJK_LARGE = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_CJK_NUMBER = re.compile(f"[{''.join(_CJK_DIGITS)}{''.join(_CJK_SMALL)}{''.join(_CJK_LARGE)}]+")


def _ascii_digits(text: str) -> str:
    """NFKC, with every Unicode decimal digit (Bengali, Thai, Devanagari …) as its ASCII digit."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text)


def _value(body: str, language: str | None) -> float | None:
    """One number's digits and separators as a value, reading separators the way `language` writes them."""
    body = re.sub(r"[ '\u00a0\u202f\u2009]", "", body)
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        decimal = "." if body.rfind(".") > body.rfind(",") else ","
        body = body.replace("," if decimal == "." else ".", "").replace(decimal, ".")
    elif dots + commas > 1:
        body = body.replace(".", "").replace(",", "")
    elif dots + commas == 1:
        separator = "." if dots else ","
        head, tail = body.split(separator)
        thousands = len(tail) == 3 and 1 <= len(head) <= 3 and head != "0"
        grouping = thousands and (separator == "," or language in DECIMAL_COMMA)
        body = head + tail if grouping else f"{head}.{tail}"
    try:
        return float(body)
    except ValueError:
        return None


def _cjk_value(text: str) -> float | None:
    """Chinese / Japanese numerals (`十八` → 18, `三万五千` → 35000), or None."""
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _CJK_DIGITS:
            digit, seen = _CJK_DIGITS[ch], True
        elif ch in _CJK_SMALL:
            section += (digit or 1) * _CJK_SMALL[ch]
            digit, seen = 0, True
        elif ch in _CJK_LARGE:
            total += (section + digit) * _CJK_LARGE[ch]
            section = digit = 0
    return float(total + section + digit) if seen else None


def _final_clause(text: str) -> str:
    """Where the final answer sits: parenthesised working dropped, then whatever follows the last `=`."""
    while True:
        stripped = _PARENTHESES.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    if "=" in text and _NUMBER.search(text.rsplit("=", 1)[1]):
        text = text.rsplit("=", 1)[1]
    return text


def parse_number(text: str, language: str | None = None) -> float | None:
    """The final number of `text`, read by `language`'s conventions (decimal point when None).

    `1,234` and `1.234.567` are thousands everywhere; `1.000` is a thousand in decimal-comma languages and one
    elsewhere; `12,50` and `3,5` are decimals; `1 000` (space, no-break space) groups thousands; a leading `−`
    (U+2212) is a minus; `18 (3 × 6)` and `3 × 6 = 18` answer 18; `十八` and `3万` are understood.
    """
    text = _ascii_digits(str(text))
    clause = _final_clause(text)
    matches = list(_NUMBER.finditer(clause)) or list(_NUMBER.finditer(text))
    if not matches:
        numerals = _CJK_NUMBER.findall(text)
        return _cjk_value(numerals[-1]) if numerals else None
    last = matches[-1]
    value = _value(last.group("body"), language)
    if value is None:
        return None
    unit = last.string[last.end() :].lstrip()[:1]
    value *= _CJK_LARGE.get(unit, 1)
    return -value if last.group("sign") else value
