"""Reference-based text metrics, each in [0, 1]."""

from __future__ import annotations

import unicodedata

from sacrebleu.metrics import BLEU, CHRF

_CHRF_PP = CHRF(word_order=2)
_BLEU = {tokenize: BLEU(effective_order=True, tokenize=tokenize) for tokenize in ("intl", "char")}
CHARACTER_LANGUAGES = frozenset({"ja", "zh", "th"})
"""Written without spaces: BLEU counts character n-grams there (word n-grams elsewhere)."""


def chrf_pp(hypothesis: str, reference: str) -> float:
    """Sentence-level chrF++ (character n-grams plus word bigrams), scaled to [0, 1].

    A report's mean of these is a *mean of sentence scores*; `corpus_chrf_pp` is the corpus-level statistic WMT
    reports (n-gram counts pooled over all segments), and reports show it beside the mean.
    """
    return float(_CHRF_PP.sentence_score(hypothesis.strip(), [reference.strip()]).score) / 100.0


def corpus_chrf_pp(hypotheses: list[str], references: list[str]) -> float:
    """Corpus-level chrF++ in [0, 1]: character and word n-gram statistics summed over all segments first."""
    if not hypotheses:
        return 0.0
    score = _CHRF_PP.corpus_score([h.strip() for h in hypotheses], [[r.strip() for r in references]])
    return float(score.score) / 100.0


def sentence_bleu(hypothesis: str, reference: str, language: str | None = None) -> float:
    """Sentence-level BLEU in [0, 1] (effective order, so short segments are not zeroed by a missing 4-gram); word
    n-grams (sacrebleu's `intl` tokenizer), characters for Chinese, Japanese and Thai. Word n-grams up to 4 and a
    brevity penalty: another view of a translation than chrF's character n-grams, which MBR selects by."""
    tokenize = "char" if language in CHARACTER_LANGUAGES else "intl"
    return float(_BLEU[tokenize].sentence_score(hypothesis.strip(), [reference.strip()]).score) / 100.0


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1 over word tokens, each Chinese/Japanese/Thai character a token of its own, punctuation dropped."""
    hyp, ref = _tokens(hypothesis), _tokens(reference)
    if not hyp or not ref:
        return 0.0
    lcs = _lcs_length(hyp, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(hyp), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


_UNSPACED = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF), (0x3400, 0x4DBF),
             (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))  # fmt: skip
"""Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, CJK ideographs."""


def _unspaced(ch: str) -> bool:
    return any(low <= ord(ch) <= high for low, high in _UNSPACED)


def _tokens(text: str) -> list[str]:
    """Words of spaced scripts (letters, digits and combining marks), single characters of unspaced ones;
    the same rule for every string, so two texts in one language are always cut alike."""
    tokens: list[str] = []
    word = ""
    for ch in unicodedata.normalize("NFKC", text).lower():
        kind = unicodedata.category(ch)[0]
        if _unspaced(ch) and kind == "M" and tokens and not word:
            tokens[-1] += ch  # a Thai vowel or tone mark belongs to its consonant
        elif _unspaced(ch) and kind == "L":
            tokens += [word, ch] if word else [ch]
            word = ""
        elif kind in "LMN":
            word += ch
        else:
            if word:
                tokens.append(word)
            word = ""
    return [*tokens, word] if word else tokens


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]
