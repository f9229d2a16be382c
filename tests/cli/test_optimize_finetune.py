"""`fusion-dspy optimize --optimizer finetune` tells its CPU budget and runs alone (issue 29)."""

import asyncio

from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.eval import EvalConfig, make_pools
from fusion_dspy.eval import runner as runner_module
from fusion_dspy.optimizers.finetune import cpu_hours
from fusion_dspy.optimizers.finetune_data import worth_sampling
from fusion_dspy.optimizers.finetune_sources import PoolSettings, TrainSource, training_set
from fusion_dspy.programs import reported, task_by_name
from fusion_dspy.testing import ScriptedLM

runner = CliRunner()


def test_the_budget_is_the_measured_step_time_times_the_steps(tmp_path):
    args = ["optimize", "--task", "math", "--lang", "en", "--optimizer", "finetune", "--budget", "--out",
            str(tmp_path), "--train-steps", "200", "--train-tokens", "1024"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    low, high = cpu_hours(200, 1024)
    assert (round(low, 1), round(high, 1)) == (3.0, 6.1)  # 200 steps × 27-55 s × 2 (1,024 tokens)
    assert f"{low:.1f}-{high:.1f} CPU-hours" in " ".join(result.output.split())
    # the default --limit 30 splits 12/9/9: the tuned and the default fusor each answer the 9 test pools at most
    assert "held-out test: up to 9 pools (the test split's)" in " ".join(result.output.split())
    assert "at most 18 calls" in " ".join(result.output.split())


def test_the_help_names_the_cpu_budget_and_the_install():
    result = runner.invoke(app, ["optimize", "--help"], terminal_width=200)
    text = " ".join(result.output.split())
    assert "27-55 s per LoRA step" in text and "0.75-1.5 CPU-hours per 100 steps" in text
    assert "pip install -e '.[train]'" in text


def test_finetune_does_not_join_a_study_of_prompt_optimisers(tmp_path):
    args = ["optimize", "--task", "math", "--lang", "en", "--optimizer", "finetune,bootstrap", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "finetune runs alone" in result.output


def strata_model(examples) -> ScriptedLM:
    """Candidates always right on problems 0 and 3 (mod 4: easy pools), right on the first of three draws on 1
    (hard), never on 2 (impossible): the budget has pools of each kind to count."""
    draws: dict[str, int] = {}

    def respond(prompt: str) -> dict:
        example = next(e for e in examples if e.question in prompt)
        kind, draw = int(example.id.split("-")[1]) % 4, draws.setdefault(example.id, 0)
        draws[example.id] += 1
        right = kind in (0, 3) or (kind == 1 and draw % 3 == 0)
        return {"reasoning": "step by step", "answer": example.reference if right else "-1"}

    return ScriptedLM(respond, model="openai/scripted")  # the stores are keyed by the model's name


def test_the_budget_counts_the_fusor_samples_of_the_stored_training_pools(monkeypatch, tmp_path):
    """With --train-from the budget reads the stored pools (no model) and counts the fusor calls the bootstrap
    makes: `--train-samples` on every pool worth sampling (every hard one, a margin of easy ones, no impossible)."""
    monkeypatch.setitem(reported.REPORTED_SUBSETS, "math", (("en", 3), ("de", 4)))
    monkeypatch.setitem(reported.REPORTED_KEYS, "math", frozenset())
    task = task_by_name("math")()
    lm = strata_model(task.load("de"))
    monkeypatch.setattr(runner_module, "resolve_lm", lambda spec=None, **kw: lm)
    config = EvalConfig(task="math", languages=["de"], out_dir=tmp_path, n=3, items="unreported", model="scripted",
                        max_tokens=256, methods=["single"])  # fmt: skip
    made = asyncio.run(make_pools(config))["de"]
    sampled = len(lm.calls)
    args = ["optimize", "--task", "math", "--lang", "en", "--optimizer", "finetune", "--budget", "--out",
            str(tmp_path / "study"), "--model", "openai/scripted", "-n", "3", "--max-tokens", "256",
            "--train-from", "math:de", "--train-pools", str(tmp_path), "--train-samples", "4"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    training = training_set([TrainSource.parse("math:de")], tmp_path, PoolSettings(model="openai/scripted", n=3,
                            temperature=0.8, max_tokens=256), "math")  # fmt: skip
    wanted = worth_sampling([e.id for e in training.examples], training.strata)
    hard = sum(training.strata[i] == "hard" for i in wanted)
    assert 0 < hard < len(wanted) < made  # every hard pool, some easy ones, no impossible one
    text = " ".join(result.output.split())
    assert f"{len(wanted)} of {made} training pools are worth sampling ({hard} hard), 4 samples each: " in text
    assert f"{4 * len(wanted)} calls of openai/scripted" in text
    assert len(lm.calls) == sampled  # counted, not sampled
