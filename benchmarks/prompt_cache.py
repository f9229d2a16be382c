"""How much of the fusor's prompt the embedded llama.cpp server serves from its prefix cache.

A batch of same-task fusor calls with demos shares a long prefix (field descriptions, instructions, demos);
only the task input and its candidates differ. llama.cpp reuses the cached prefix per slot and reports it per
response (`usage.prompt_tokens_details.cached_tokens`), which `TokenUsage.cached_prompt_tokens` sums.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dspy

import fusion_dspy as fd
from fusion_dspy.usage import TokenUsage

QUESTIONS = [f"A shop sells {a} apples a day for {b} days. How many apples does it sell?" for a, b in
             [(3, 4), (5, 6), (7, 2), (9, 3), (4, 8), (6, 5), (2, 9), (8, 7), (12, 3), (11, 4), (10, 6), (13, 2),
              (14, 3), (15, 2), (16, 4), (17, 3)]]  # fmt: skip


def _pool(question: str) -> fd.CandidatePool:
    a, b = (int(w) for w in question.split() if w.isdigit())
    answers = [str(a * b), str(a * b), str(a + b)]
    return fd.CandidatePool(candidates=[fd.Candidate(index=i, outputs={"answer": x}) for i, x in enumerate(answers)])


DEMOS = ["Tom has 3 bags of 4 marbles. How many marbles?", "A bus carries 5 rows of 6 people. How many people?"]


def _demos() -> list[dspy.Example]:
    demos = []
    for question in DEMOS:
        pool = _pool(question)
        rendered, _ = fd.render_pool(pool, fd.RenderOptions(), salt=question)
        demos.append(dspy.Example(question=question, candidates=rendered, answer=pool[0].text()))
    return demos


async def _fuse_all(fuser: fd.Fuser, questions: list[str], concurrency: int) -> TokenUsage:
    gate = asyncio.Semaphore(concurrency)

    async def one(question: str) -> TokenUsage:
        async with gate:
            with dspy.track_usage() as tracker:
                await fuser.aaggregate({"question": question}, _pool(question))
        return TokenUsage.from_tracker(tracker.usage_data)

    return TokenUsage.sum(await asyncio.gather(*(one(q) for q in questions)))


def fusor_prompt_cache_share(model: str = "local-small", calls: int = 16, concurrency: int = 4) -> dict[str, Any]:
    """Share of fusor prompt tokens served from the server's cache over `calls` same-task fusor calls with demos."""
    lm = fd.local_lm(model, max_tokens=16, temperature=0.0, cache=False)
    fuser = fd.Fuser(dspy.Signature("question -> answer"), lm=lm)
    assert fuser.predict is not None
    fuser.predict.demos = _demos()
    usage = asyncio.run(_fuse_all(fuser, QUESTIONS[:calls], concurrency))
    return {
        "fusor_prompt_cache_share": usage.cached_prompt_tokens / max(1, usage.prompt_tokens),
        "fusor_prompt_tokens": usage.prompt_tokens,
        "fusor_cached_prompt_tokens": usage.cached_prompt_tokens,
        "fusor_cache_calls": usage.lm_calls,
    }


if __name__ == "__main__":
    print(fusor_prompt_cache_share())
