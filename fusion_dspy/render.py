"""How a candidate pool is written into the fusor's (or judge's) prompt.

Candidates are untrusted text. Each one goes into its own numbered, delimited block; any text inside it that
looks like a block delimiter or a DSPy field marker is neutralised, so a candidate cannot close its block or
open a new prompt section. Order is shuffled with a seed and sources are hidden by default, against position
and identity bias.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from fusion_dspy.candidates import Candidate, CandidatePool, as_text

BLOCK_OPEN = "<candidate {label}>"
BLOCK_CLOSE = "</candidate {label}>"
BLOCK_SEPARATOR = "\n\n"

_DELIMITER_LIKE = re.compile(r"<\s*(/?)\s*(candidate)", re.IGNORECASE)
_FIELD_MARKER = re.compile(r"\[\[\s*##|##\s*\]\]")


class RenderOptions(BaseModel):
    """Knobs for rendering a pool; the defaults guard against position and identity bias.

    `max_chars_total` bounds the whole rendered pool (every block, tag, field name and truncation note included);
    `max_chars_per_candidate` bounds the text one candidate keeps, all its fields together. When text must go,
    the longest fields are cut first, to a common length, each cut one saying how much it lost, so short
    answers survive whole.
    """

    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently ignored

    shuffle: bool = True
    seed: int = 0
    show_sources: bool = False
    fields: list[str] | None = None
    max_chars_per_candidate: int | None = None
    max_chars_total: int | None = 24_000


def label_for(position: int) -> str:
    """1-based block label; numbers match how people and models count."""
    return str(position + 1)


def neutralise(text: str) -> str:
    """Make delimiter look-alikes and DSPy field markers inert while keeping them readable."""
    text = _DELIMITER_LIKE.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", text)
    return _FIELD_MARKER.sub(lambda m: m.group(0).replace("#", "＃"), text)


def salt_for(inputs: Mapping[str, Any]) -> str:
    """One input's salt for seeded choices: its fields as sorted JSON. The Fuser, the optimiser's fusor data and
    the Selector's tie-break all use it, so an input gets the same candidate order wherever it is rendered."""
    return json.dumps(dict(inputs), sort_keys=True, default=str)


def seeded_random(seed: int, salt: str = "") -> random.Random:
    """A random generator fixed by `seed` and `salt` (reproducible per input, different across inputs)."""
    return random.Random(hashlib.sha256(f"{seed}\x00{salt}".encode()).digest())


def order(pool: CandidatePool, options: RenderOptions, salt: str = "") -> list[Candidate]:
    """The successful candidates in the order they are shown.

    The shuffle is seeded by `options.seed` and `salt` (the fusor passes its inputs), so one input always
    gets the same order while different inputs get different ones: no sample position is favoured overall.
    """
    shown = list(pool.succeeded)
    if options.shuffle:
        seeded_random(options.seed, salt).shuffle(shown)
    return shown


def _truncation_note(cut: int) -> str:
    return f" …[truncated {cut} characters]"


def _cost(length: int, cap: int, notes: bool = True) -> int:
    """Characters a field of `length` takes when cut to `cap` (with its truncation note, if `notes`)."""
    if length <= cap:
        return length
    return cap + len(_truncation_note(length - cap)) if notes else cap


def fit(lengths: list[int], budget: int, notes: bool = True) -> int | None:
    """The largest common cap that fits fields of `lengths` into `budget` characters (None: no cut needed);
    `notes`: the truncation notes count against the budget too."""
    if sum(lengths) <= budget:
        return None
    low, high = 0, max(lengths)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(_cost(n, middle, notes) for n in lengths) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _cut(text: str, cap: int | None) -> str:
    return text if cap is None or len(text) <= cap else f"{text[:cap]}{_truncation_note(len(text) - cap)}"


def field_texts(candidate: Candidate, options: RenderOptions) -> dict[str, str]:
    """The candidate's shown output fields as neutralised text (typed values as JSON)."""
    fields = [f for f in (options.fields or list(candidate.outputs)) if f in candidate.outputs]
    return {name: neutralise(as_text(candidate.outputs[name]).strip()) for name in fields}


def candidate_body(candidate: Candidate, options: RenderOptions, caps: dict[str, int | None] | None = None) -> str:
    """The candidate's output fields as neutralised text (field names shown when there are several).

    A field longer than its cap keeps its head and says how much was cut, so the fusor knows the text is
    incomplete. Without `caps`, the fields share `max_chars_per_candidate`.
    """
    texts = field_texts(candidate, options)
    if caps is None:
        limit = options.max_chars_per_candidate
        cap = fit([len(t) for t in texts.values()], limit, notes=False) if limit is not None else None
        caps = dict.fromkeys(texts, cap)
    parts = [f"source: {neutralise(candidate.source)}"] if options.show_sources else []
    for name, text in texts.items():
        body = _cut(text, caps.get(name))
        parts.append(body if len(texts) == 1 else f"{name}:\n{body}")
    return "\n".join(parts)


def render_candidate(
    candidate: Candidate, label: str, options: RenderOptions, caps: dict[str, int | None] | None = None
) -> str:
    opening, closing = BLOCK_OPEN.format(label=label), BLOCK_CLOSE.format(label=label)
    return f"{opening}\n{candidate_body(candidate, options, caps)}\n{closing}"


def render_pool(
    pool: CandidatePool, options: RenderOptions | None = None, salt: str = ""
) -> tuple[str, list[Candidate]]:
    """Render the successful candidates as delimited blocks, within the budgets; also return them in shown order."""
    options = options or RenderOptions()
    shown = order(pool, options, salt)
    return _join(shown, options, _caps(shown, options)), shown


def pool_caps(pool: CandidatePool, options: RenderOptions) -> dict[int, dict[str, int | None]]:
    """Each successful candidate's field caps (by candidate index) as `render_pool` cuts them: judges that see
    candidates one or two at a time use these, so selection and fusion see the same text."""
    shown = pool.succeeded
    return {c.index: caps for c, caps in zip(shown, _caps(shown, options), strict=True)}


def _caps(shown: list[Candidate], options: RenderOptions) -> list[dict[str, int | None]]:
    texts = [field_texts(c, options) for c in shown]
    caps: list[dict[str, int | None]] = []
    for fields in texts:
        per_candidate = options.max_chars_per_candidate
        cap = fit([len(t) for t in fields.values()], per_candidate, notes=False) if per_candidate is not None else None
        caps.append(dict.fromkeys(fields, cap))
    if options.max_chars_total is not None:
        empty: list[dict[str, int | None]] = [dict.fromkeys(fields, 0) for fields in texts]
        frame = len(_join(shown, options, empty, blank=True))
        lengths = [
            _cost(len(text), cap) if cap is not None else len(text)
            for fields, limits in zip(texts, caps, strict=True)
            for text, cap in zip(fields.values(), limits.values(), strict=True)
        ]
        common = fit(lengths, max(0, options.max_chars_total - frame))
        if common is not None:
            caps = [{k: common if v is None else min(v, common) for k, v in limits.items()} for limits in caps]
    return caps


def _join(
    shown: list[Candidate], options: RenderOptions, caps: list[dict[str, int | None]], blank: bool = False
) -> str:
    if blank:  # the frame alone: tags, field names and separators, every field empty
        shown = [c.model_copy(update={"outputs": {k: "" for k in c.outputs}}) for c in shown]
    blocks = [render_candidate(c, label_for(i), options, caps[i]) for i, c in enumerate(shown)]
    return BLOCK_SEPARATOR.join(blocks)
