"""Which fused answers the weight-tuned fusor learns from (issue 29): the pass filter, hard pools balanced with
easy ones, gold-backed targets, and the bootstrap that draws them from a scripted fusor over scripted pools."""

import asyncio

import pytest

from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers.finetune_bootstrap import abootstrap, pool_targets
from fusion_dspy.optimizers.finetune_data import FusedSample, passing, select_targets
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.strata import strata_of
from fusion_dspy.testing import ScriptedLM
from tests.optimizers.test_strata import math_pools


def sample(pool: str, answer: str, passed: bool, source: str = "fusor", n: int = 1) -> FusedSample:
    return FusedSample(example_id=pool, outputs={"answer": answer}, score=float(passed), passed=passed,
                       source=source, sample=n if source == "fusor" else 0)  # fmt: skip


def test_only_passing_answers_are_kept_once_each():
    drawn = [sample("p", "7", False, n=1), sample("p", "42", True, n=2), sample("p", "42", True, n=3),
             sample("p", "42.0", True, n=4)]  # fmt: skip
    kept = passing(drawn, per_pool=5)
    assert [s.outputs["answer"] for s in kept] == ["42", "42.0"]  # the duplicate "42" once; the failed "7" never
    assert [s.sample for s in passing(drawn, per_pool=1)] == [2]


def test_every_hard_pool_is_kept_and_easy_ones_balance_it():
    samples = {f"h{i}": [sample(f"h{i}", "42", True)] for i in range(3)}
    samples |= {f"e{i}": [sample(f"e{i}", "42", True)] for i in range(10)}
    strata = {i: ("hard" if i.startswith("h") else "easy") for i in samples}
    one_to_one = select_targets(samples, strata, easy_per_hard=1.0)
    assert (one_to_one.hard_pools, one_to_one.easy_pools) == (3, 3)
    ids = [t.example_id for t in one_to_one.targets]
    assert [i[0] for i in ids] == ["h", "e", "h", "e", "h", "e"]  # woven: hard, easy, hard, easy, ...
    assert select_targets(samples, strata, easy_per_hard=2.0).easy_pools == 6
    assert select_targets(samples, strata, easy_per_hard=0.0).easy_pools == 0
    other_seed = select_targets(samples, strata, easy_per_hard=1.0, seed=1)
    assert other_seed.easy_pools == 3  # the same count; which easy pools is seeded
    assert select_targets(samples, strata, easy_per_hard=1.0).targets == one_to_one.targets


def test_without_hard_pools_every_easy_pool_is_kept_and_impossible_ones_never():
    samples = {"e0": [sample("e0", "42", True)], "e1": [sample("e1", "42", True)], "x": [sample("x", "42", True)]}
    chosen = select_targets(samples, {"e0": "easy", "e1": "easy", "x": "impossible"})
    assert sorted(t.example_id for t in chosen.targets) == ["e0", "e1"]


def test_gold_backed_targets_only_where_the_fusor_found_no_right_answer():
    samples = {
        "h0": [sample("h0", "7", False), sample("h0", "42", True, source="pool")],  # fusor wrong, a candidate right
        "h1": [sample("h1", "42", True), sample("h1", "42", True, source="pool")],  # fusor right: its own answer
        "h2": [sample("h2", "7", False)],  # nothing right anywhere
    }
    strata = dict.fromkeys(samples, "hard")
    backed = select_targets(samples, strata, gold_backed=True)
    assert {t.example_id: t.source for t in backed.targets} == {"h0": "pool", "h1": "fusor"}
    assert (backed.gold_backed, backed.pools_without_target) == (1, 1)
    plain = select_targets(samples, strata, gold_backed=False)
    assert {t.example_id for t in plain.targets} == {"h1"}
    assert (plain.gold_backed, plain.pools_without_target) == (0, 2)


def test_bootstrap_samples_the_fusor_per_pool_and_scores_with_the_task_metric(tmp_path):
    # pool 0 easy (majority 42), pool 1 hard (majority 7, one 42); the fusor answers 42 then 7 in turn
    task, data = math_pools(tmp_path, [("42", "42", "7"), ("7", "7", "42")])
    lm = ScriptedLM([{"reasoning": "sum", "answer": "42"}, {"reasoning": "guess", "answer": "7"}] * 2)
    fusor = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))
    found = asyncio.run(abootstrap(fusor, data, task.metric, threshold=task.pass_threshold, samples=2,
                                   temperature=0.8, threads=1))  # fmt: skip
    assert len(lm.calls) == 4 and {c.temperature for c in lm.calls} == {0.8}
    for example_id in ("en-0", "en-1"):
        own = [s for s in found[example_id] if s.source == "fusor"]
        assert sorted(s.outputs["answer"] for s in own) == ["42", "7"]
        assert all(s.passed == (s.outputs["answer"] == "42") for s in own)
        assert set(own[0].outputs) == {"reasoning", "answer"}
    # the pool's candidates carry no reasoning, so a chain-of-thought fusor gets no gold-backed target from them
    assert not [s for s in found["en-1"] if s.source == "pool"]
    selection = select_targets(found, strata_of(task, data))
    assert selection.hard_pools == 1 and selection.easy_pools == 1
    assert all(t.outputs["answer"] == "42" for t in selection.targets)


def test_pool_targets_are_the_right_candidates_for_a_fusor_without_chain_of_thought(tmp_path):
    task, [hard] = math_pools(tmp_path, [("7", "7", "42")])
    fusor = FusorOnly(Fuser(chain_of_thought=False, lm=ScriptedLM("unused")).bind(task.signature))
    targets = pool_targets(fusor, hard, task.metric, task.pass_threshold)
    assert sorted((t.outputs["answer"], t.passed) for t in targets) == [("42", True), ("7", False), ("7", False)]


@pytest.mark.parametrize("easy_per_hard", [0.5, 1.5])
def test_the_easy_share_rounds_to_whole_pools(easy_per_hard):
    samples = {f"h{i}": [sample(f"h{i}", "42", True)] for i in range(2)}
    samples |= {f"e{i}": [sample(f"e{i}", "42", True)] for i in range(9)}
    strata = {i: ("hard" if i.startswith("h") else "easy") for i in samples}
    assert select_targets(samples, strata, easy_per_hard=easy_per_hard).easy_pools == round(2 * easy_per_hard)


class Killed(Exception):
    pass


def test_a_killed_bootstrap_keeps_the_pools_it_finished_and_a_rerun_samples_only_the_rest(tmp_path):
    from fusion_dspy.optimizers.finetune import FinetuneFusor, FinetuneSettings

    task, data = math_pools(tmp_path, [("42", "42", "7"), ("7", "7", "42"), ("7", "8", "9")])
    lm = ScriptedLM({"reasoning": "sum", "answer": "42"})
    fusor = FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task.signature))

    def kill_after_first_pool(label, total, done):
        def advance():
            raise Killed

        return advance

    settings = FinetuneSettings(samples=2, threads=1)
    cut = FinetuneFusor(task.metric, out_dir=tmp_path / "run", settings=settings, progress=kill_after_first_pool)
    with pytest.raises(Killed):
        cut.bootstrap(fusor, data, task.pass_threshold)
    kept = (tmp_path / "run" / "bootstrap.jsonl").read_text().splitlines()
    assert len(kept) == 1  # the pool finished before the kill (its 2 samples) was kept
    before = len(lm.calls)
    rerun = FinetuneFusor(task.metric, out_dir=tmp_path / "run", settings=settings)
    found = rerun.bootstrap(fusor, data, task.pass_threshold)
    assert len(lm.calls) == before + 4  # the two other pools only
    assert sorted(found) == ["en-0", "en-1", "en-2"]
    assert all(len([s for s in v if s.source == "fusor"]) == 2 for v in found.values())
    rerun.bootstrap(fusor, data, task.pass_threshold)
    assert len(lm.calls) == before + 4


def test_a_pool_whose_fusor_call_failed_is_sampled_again_on_a_rerun(tmp_path):
    from fusion_dspy.optimizers.finetune import FinetuneFusor, FinetuneSettings

    task, data = math_pools(tmp_path, [("42", "42", "7")])
    failing = ScriptedLM({"reasoning": "sum", "answer": "42"}, fail_when=lambda number, prompt: number == 1)
    fusor = FusorOnly(Fuser(chain_of_thought=True, lm=failing).bind(task.signature))
    optimizer = FinetuneFusor(task.metric, out_dir=tmp_path / "run", settings=FinetuneSettings(samples=2, threads=1))
    first = optimizer.bootstrap(fusor, data, task.pass_threshold)
    assert len([s for s in first["en-0"] if s.source == "fusor"]) == 1  # used now, not kept
    optimizer.bootstrap(fusor, data, task.pass_threshold)
    assert len(failing.calls) == 4  # drawn again: a failed call is no answer to learn from


def test_the_bootstrap_samples_only_pools_the_mix_can_use():
    from fusion_dspy.optimizers.finetune_data import EASY_MARGIN, worth_sampling

    ids = [f"p{i}" for i in range(40)]
    strata = {i: ("hard" if k < 4 else "impossible" if k < 10 else "easy") for k, i in enumerate(ids)}
    chosen = worth_sampling(ids, strata, easy_per_hard=1.0, seed=0)
    assert [i for i in chosen if strata[i] == "hard"] == ids[:4] and not any(strata[i] == "impossible" for i in chosen)
    assert len([i for i in chosen if strata[i] == "easy"]) == int(EASY_MARGIN * 4) and chosen == sorted(
        chosen, key=ids.index
    )
    assert worth_sampling(ids, strata, easy_per_hard=1.0, seed=0) == chosen  # seeded
    assert len(worth_sampling(ids, strata, easy_per_hard=2.0, seed=0)) == 4 + int(EASY_MARGIN * 8)
    no_hard = {i: "easy" for i in ids[:5]} | {"u": "unscored"}
    assert worth_sampling([*ids[:5], "u"], no_hard) == [*ids[:5], "u"]  # without a hard pool every usable one
