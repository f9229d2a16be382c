"""The selection a tuned fusor is compared with: the task's own (majority vote here), from the pool the fusor saw,
scored by the same metric; a tie broken by the library's seeded rule, the same one every selection uses."""

import asyncio

from fusion_dspy.optimizers.selection_baseline import ascore_selection
from fusion_dspy.select.base import pick_best
from tests.optimizers.test_strata import math_pools


def test_majority_vote_is_scored_on_the_fusors_own_pools(tmp_path):
    task, data = math_pools(tmp_path, [("42", "42", "7"), ("7", "7", "42"), ("7", "8", "9"), ("42", "7")])
    scored = asyncio.run(ascore_selection(task, data))
    assert task.selection == "majority" and set(scored.paths.values()) == {"majority"}
    assert [scored.scores[e.id] for e in data[:3]] == [1.0, 0.0, 0.0]  # right majority, wrong majority, no 42
    tie = data[3]  # one vote each: the seeded tie-break of every selection decides
    pool, inputs = tie.pool, {"question": tie.question}
    votes = asyncio.run(task.consensus().ascore(task.signature, inputs, pool))
    expected = 1.0 if pool[pick_best(votes, pool, 0, inputs)].outputs["answer"] == "42" else 0.0
    assert scored.scores[tie.id] == expected
    assert asyncio.run(ascore_selection(task, data)).scores == scored.scores  # seeded: the same picks again
