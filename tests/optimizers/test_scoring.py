"""Per-example scores, plain or behind adaptive fusion, and the paired held-out comparison (issue 13)."""

import dspy

from fusion_dspy._async import run_sync
from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers import FusorOnly
from fusion_dspy.optimizers.heldout import compare_held_out
from fusion_dspy.optimizers.scoring import Scored, ascore_each
from fusion_dspy.programs.adaptive_defaults import Thresholds
from fusion_dspy.testing import ScriptedLM
from tests.optimizers.test_strata import math_pools


def test_adaptive_scoring_skips_the_fusor_where_the_candidates_agree(tmp_path):
    task, data = math_pools(tmp_path, [("42", "42", "42"), ("7", "8", "42")])
    lm = ScriptedLM({"reasoning": "…", "answer": "42"})
    dspy.cache.reset_memory_cache()
    program = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
    thresholds = Thresholds(skip_agreement=0.6, floor_margin=None)
    scored = run_sync(ascore_each(program, data, task.metric, 1, task=task, adaptive=thresholds))
    assert scored.scores == {"en-0": 1.0, "en-1": 1.0}
    assert scored.paths == {"en-0": "skipped", "en-1": "fused"} and len(lm.calls) == 1
    plain = run_sync(ascore_each(program, data, task.metric, 1))
    assert plain.paths == {"en-0": "fused", "en-1": "fused"} and plain.usage.lm_calls >= 1


def test_the_held_out_comparison_is_paired_and_per_stratum():
    ids = [f"e{i}" for i in range(12)]
    before = Scored(scores=dict.fromkeys(ids, 0.0) | {"e11": None})
    after = Scored(scores=dict.fromkeys(ids, 1.0) | {"e0": 0.0})
    strata = {i: ("hard" if i in ("e0", "e1", "e2") else "easy") for i in ids}
    held = compare_held_out(before, after, strata)
    assert held.n == 11 and (held.win, held.tie, held.loss) == (10, 1, 0)
    assert held.low > 0 and not held.worse_beyond_noise and held.p_sign < 0.01
    assert held.strata["hard"].n == 3 and held.strata["hard"].after == 2 / 3 and held.strata["easy"].n == 8


def test_a_configuration_costs_the_same_tokens_when_dspy_cache_answers_it(tmp_path, monkeypatch):
    """A trial replayed from the cache (a resumed study, a configuration tried twice) must not look free on the
    Pareto front: cache hits count at the cost their responses recorded; `billed` says what was paid this time."""
    from dspy.clients.cache import Cache

    from fusion_dspy.testing import FakeModelServer

    monkeypatch.setattr(dspy, "cache", Cache(enable_disk_cache=False, enable_memory_cache=True, disk_cache_dir=None))
    task, data = math_pools(tmp_path, [("7", "8", "42"), ("41", "42", "43")])
    answer = "[[ ## reasoning ## ]]\n…\n\n[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]"
    with FakeModelServer(responder=lambda messages: answer) as server:
        lm = dspy.LM("openai/fake", api_base=server.base_url, api_key="k", num_retries=0, temperature=0.0)
        program = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
        first = run_sync(ascore_each(program, data, task.metric, 1))
        again = run_sync(ascore_each(program, data, task.metric, 1))
        assert server.stats.requests == 2
    assert first.usage.total_tokens > 0 and again.usage.total_tokens == first.usage.total_tokens
    assert again.billed.total_tokens == 0 and again.scores == first.scores
