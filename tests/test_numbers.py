"""Final-number parsing by language (issue 11, point 8): each case once read wrongly."""

import pytest

from fusion_dspy.numbers import parse_number


@pytest.mark.parametrize(
    ("text", "language", "number"),
    [
        ("1.000", "de", 1000.0),  # was 1.0: German thousands separator
        ("1.000", "en", 1.0),  # a decimal point where that is the convention
        ("1 000", "fr", 1000.0),  # was 0: a space groups thousands
        ("1\u202f000", "fr", 1000.0),  # narrow no-break space
        ("Ответ: 1 250 рублей", "ru", 1250.0),
        ("12,50", "de", 12.5),  # was 50
        ("3,5", "en", 3.5),  # was 5: a false positive when the answer is 5
        ("−5", "en", -5.0),  # was 5: U+2212 MINUS SIGN
        ("Sie verdient also 18 (3 × 6).", "de", 18.0),  # was 6: parenthesised working after the answer
        ("3 × 6 = 18", "en", 18.0),
        ("十八", "zh", 18.0),  # was None
        ("三万五千", "ja", 35000.0),
        ("3万", "zh", 30000.0),
        ("答えは18です", "ja", 18.0),
        ("১২", "bn", 12.0),  # Bengali digits
        ("1,00,000", "bn", 100000.0),  # Indian grouping
        ("1.250,50", "de", 1250.5),
        ("$1,250.50", "en", 1250.5),
        ("0,125", "de", 0.125),
        ("The answer is 1,234.", "en", 1234.0),
        ("1.234.567", None, 1234567.0),
        ("3.5 km", None, 3.5),
        ("5-7", None, 7.0),  # a range, not minus seven
        ("none", None, None),
    ],
)
def test_parse_number_by_language(text, language, number):
    assert parse_number(text, language) == number
