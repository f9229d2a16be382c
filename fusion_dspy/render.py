"""How a candidate pool is written into the fusor's (or judge's) prompt.

Candidates are untrusted text. Each one goes into its own numbered, delimited block; any text inside it that
looks like a block delimiter or a DSPy field marker is neutralised, so a candidate cannot close its block or
open a new prompt section. Order is shuffled with a seed and sources are hidden by default, against position
and identity bias.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from pydantic import BaseModel

from fusion_dspy.candidates import Candidate, CandidatePool

BLOCK_OPEN = "<candidate {label}>"
BLOCK_CLOSE = "</candidate {label}>"

_DELIMITER_LIKE = re.compile(r"<\s*(/?)\s*(candidate)", re.IGNORECASE)
_FIELD_MARKER = re.compile(r"\[\[\s*##|##\s*\]\]")


class RenderOptions(BaseModel):
    """Knobs for rendering a pool; the defaults guard against position and identity bias."""

    shuffle: bool = True
    seed: int = 0
    show_sources: bool = False
    fields: list[str] | None = None
    max_chars_per_candidate: int | None = None
    max_chars_total: int | None = 24_000

    def per_candidate_limit(self, count: int) -> int | None:
        """Each field of a candidate keeps at most this many characters: the per-candidate cap, or an equal
        share of the total budget (so N long candidates still fit the fusor's context)."""
        share = self.max_chars_total // max(count, 1) if self.max_chars_total else None
        limits = [x for x in (self.max_chars_per_candidate, share) if x is not None]
        return min(limits) if limits else None


def label_for(position: int) -> str:
    """1-based block label; numbers match how people and models count."""
    return str(position + 1)


def neutralise(text: str) -> str:
    """Make delimiter look-alikes and DSPy field markers inert while keeping them readable."""
    text = _DELIMITER_LIKE.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", text)
    return _FIELD_MARKER.sub(lambda m: m.group(0).replace("#", "＃"), text)


def order(pool: CandidatePool, options: RenderOptions, salt: str = "") -> list[Candidate]:
    """The successful candidates in the order they are shown.

    The shuffle is seeded by `options.seed` and `salt` (the fusor passes its inputs), so one input always
    gets the same order while different inputs get different ones: no sample position is favoured overall.
    """
    shown = list(pool.succeeded)
    if options.shuffle:
        digest = hashlib.sha256(f"{options.seed}\x00{salt}".encode()).digest()
        random.Random(digest).shuffle(shown)
    return shown


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def candidate_body(candidate: Candidate, options: RenderOptions, limit: int | None = None) -> str:
    """The candidate's output fields as neutralised text (field names shown when there are several).

    A field longer than `limit` characters (default: the per-candidate cap) keeps its head and says how
    much was cut, so the fusor knows the text is incomplete.
    """
    limit = limit if limit is not None else options.max_chars_per_candidate
    fields = [f for f in (options.fields or list(candidate.outputs)) if f in candidate.outputs]
    parts = [f"source: {neutralise(candidate.source)}"] if options.show_sources else []
    for name in fields:
        body = neutralise(_format_value(candidate.outputs[name]).strip())
        if limit is not None and len(body) > limit:
            body = f"{body[:limit]} …[truncated {len(body) - limit} characters]"
        parts.append(body if len(fields) == 1 else f"{name}:\n{body}")
    return "\n".join(parts)


def render_candidate(candidate: Candidate, label: str, options: RenderOptions, limit: int | None = None) -> str:
    opening, closing = BLOCK_OPEN.format(label=label), BLOCK_CLOSE.format(label=label)
    return f"{opening}\n{candidate_body(candidate, options, limit)}\n{closing}"


def render_pool(
    pool: CandidatePool, options: RenderOptions | None = None, salt: str = ""
) -> tuple[str, list[Candidate]]:
    """Render the successful candidates as delimited blocks; also return them in shown order."""
    options = options or RenderOptions()
    shown = order(pool, options, salt)
    limit = options.per_candidate_limit(len(shown))
    blocks = [render_candidate(c, label_for(i), options, limit) for i, c in enumerate(shown)]
    return "\n\n".join(blocks), shown
