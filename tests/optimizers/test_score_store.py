"""A stored score is reused only for the same fusor state, LM settings, thresholds and pool."""

import dspy

from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers import FusorOnly
from fusion_dspy.optimizers.score_store import ScoreStore, configuration_key, example_key, score_with_store
from fusion_dspy.optimizers.scoring import Scored
from fusion_dspy.programs import task_by_name
from fusion_dspy.programs.adaptive_defaults import Thresholds

SIGNATURE = task_by_name("math")().signature


def fusor(instructions: str | None = None, temperature: float = 0.0, port: int = 8000) -> FusorOnly:
    lm = dspy.LM("openai/fake", temperature=temperature, api_base=f"http://127.0.0.1:{port}/v1", api_key="local")
    program = FusorOnly(Fuser(lm=lm).bind(SIGNATURE))
    if instructions is not None:
        for _, predictor in program.named_predictors():
            predictor.signature = predictor.signature.with_instructions(instructions)
    return program


def test_the_key_changes_with_everything_that_decides_a_score():
    base = configuration_key(fusor(), "exact match", None)
    assert configuration_key(fusor(), "exact match", None) == base
    assert configuration_key(fusor(port=36619), "exact match", None) == base  # the embedded model's port: any
    others = [
        configuration_key(fusor("Keep the majority."), "exact match", None),
        configuration_key(fusor(temperature=0.7), "exact match", None),
        configuration_key(fusor(), "chrF++", None),
        configuration_key(fusor(), "exact match", Thresholds(skip_agreement=0.9, floor_margin=0.0)),
    ]
    assert base not in others and len(set(others)) == len(others)
    one = dspy.Example(id="a", question="q", candidates="1").with_inputs("question", "candidates")
    other_pool = dspy.Example(id="a", question="q", candidates="2").with_inputs("question", "candidates")
    assert example_key(base, one) != example_key(base, other_pool)


def test_scores_survive_a_reopen_and_a_torn_last_line(tmp_path):
    ScoreStore(tmp_path).add("k1", "a", 1.0, "fused")
    ScoreStore(tmp_path).add("k2", "b", None, "failed")
    with (tmp_path / "scores.jsonl").open("a") as handle:
        handle.write('{"key": "k3", "id": "c", "sco')  # killed mid-write
    store = ScoreStore(tmp_path)
    assert store.get("k1").score == 1.0 and store.get("k2").score is None and store.get("k3") is None
    store.add("k3", "c", 0.5, "fused")
    assert ScoreStore(tmp_path).get("k3").score == 0.5


def test_only_answered_examples_are_stored_a_failed_call_is_scored_again_next_time(tmp_path):
    examples = [dspy.Example(id=i, question="q", candidates=i).with_inputs("question", "candidates") for i in "ab"]
    asked: list[list[str]] = []

    def score(missing, on_scored, read_back):
        asked.append([e.id for e in missing])
        assert read_back == 2 - len(missing)
        outcomes = {e.id: (1.0, "fused") if e.id == "a" else (0.0, "failed") for e in missing}
        for e in missing:
            on_scored(e, *outcomes[e.id])
        return Scored(scores={i: s for i, (s, _) in outcomes.items()}, paths={i: p for i, (_, p) in outcomes.items()})

    first = score_with_store(ScoreStore(tmp_path), fusor(), examples, "exact match", None, score)
    second = score_with_store(ScoreStore(tmp_path), fusor(), examples, "exact match", None, score)
    assert asked == [["a", "b"], ["b"]]  # "a" read back; the failed "b" asked again (a timeout may pass)
    assert first.scores == second.scores == {"a": 1.0, "b": 0.0} and second.paths["a"] == "fused"
