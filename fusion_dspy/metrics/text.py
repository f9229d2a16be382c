"""Reference-based text metrics, each in [0, 1]."""

from __future__ import annotations

from sacrebleu.metrics import CHRF

_CHRF_PP = CHRF(word_order=2)


def chrf_pp(hypothesis: str, reference: str) -> float:
    """Sentence-level chrF++ (character n-grams plus word bigrams), as WMT reports it, scaled to [0, 1]."""
    return float(_CHRF_PP.sentence_score(hypothesis.strip(), [reference.strip()]).score) / 100.0


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1 over whitespace tokens (characters for text without spaces, e.g. Chinese or Japanese)."""
    hyp, ref = _tokens(hypothesis), _tokens(reference)
    if not hyp or not ref:
        return 0.0
    lcs = _lcs_length(hyp, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(hyp), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def _tokens(text: str) -> list[str]:
    words = text.lower().split()
    return list("".join(words)) if len(words) <= 1 and len(text) > 20 else words


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]
