"""First-k vs all-n on stored pools: fixture pools in the real format, a scripted fusor, no sampling."""

import asyncio
import json
import re
from collections import Counter

import pytest

from fusion_dspy.candidates import Candidate, CandidatePool
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import EvalConfig, Evaluation, PoolKey, PoolRecord
from fusion_dspy.eval import runner as runner_module
from fusion_dspy.eval.first_k import compare_first_k, main
from fusion_dspy.eval.store import pool_log
from fusion_dspy.testing import ScriptedLM

# (reference, candidate answers with their latencies in seconds); the first three to arrive decide first-k.
FIXTURE = [
    ("18", [("18", 0.5), ("18", 0.6), ("7", 0.7), ("7", 5.0), ("7", 6.0)]),  # first 3: 18 wins; all 5: 7 wins
    ("4", [("3", 0.2), ("3", 0.3), ("4", 0.4), ("4", 2.0), ("4", 3.0)]),  # first 3: 3 wins; all 5: 4 wins
    ("9", [("9", 0.1), ("9", 0.2), ("9", 0.3), ("1", 0.4), ("1", 0.5)]),  # both 9
    ("2", [("5", 0.1), ("2", 0.9), ("2", 0.8), ("5", 0.3), (None, 0.2)]),  # failures arrive but do not count: 5 vs 2
]


def write_fixture(tmp_path):
    data = tmp_path / "data" / "mgsm"
    data.mkdir(parents=True)
    rows = [f"Question {i}: how many?\t{ref}" for i, (ref, _) in enumerate(FIXTURE)] + ["Unpooled question?\t1"]
    (data / "mgsm_en.tsv").write_text("\n".join(rows) + "\n")
    key = PoolKey(task="math", language="en", model="openai/scripted", n=5, temperature=0.8, seed=0, max_tokens=256)
    pools = pool_log(tmp_path / "out", key)
    for i, (_, answers) in enumerate(FIXTURE):
        candidates = [
            Candidate(index=j, outputs={"reasoning": "r", "answer": a}, latency_s=t) if a is not None
            else Candidate(index=j, error="TimeoutError", latency_s=t)
            for j, (a, t) in enumerate(answers)
        ]  # fmt: skip
        pools.append(PoolRecord(id=f"en-{i}", pool=CandidatePool(candidates=candidates, wall_s=6.0)))


def majority_fusor() -> ScriptedLM:
    """Fuses by majority over the candidates it was shown (ties: the smallest number)."""

    def respond(prompt):
        shown = prompt.split("[[ ## candidates ## ]]")[-1]
        votes = Counter(re.findall(r"answer:\s*(\S+)\s*</candidate", shown))
        best = sorted(votes.items(), key=lambda kv: (-kv[1], int(kv[0])))[0][0] if votes else "0"
        return {"reasoning": "fused", "answer": best}

    return ScriptedLM(respond, model="openai/scripted")


@pytest.fixture
def fusor(monkeypatch):
    lm = majority_fusor()
    monkeypatch.setattr(runner_module, "resolve_lm", lambda spec=None, **kw: lm)
    return lm


def config(tmp_path) -> EvalConfig:
    return EvalConfig(task="math", languages=["en"], out_dir=tmp_path / "out", n=5, limit=None, model="scripted",
                      max_tokens=256, scorers=[], data_dir=str(tmp_path / "data"))  # fmt: skip


def test_first_k_is_compared_with_all_n_on_the_same_pools_with_a_paired_ci(tmp_path, fusor):
    write_fixture(tmp_path)
    report = asyncio.run(compare_first_k(config(tmp_path), "en", 3))
    assert report.examples == 4  # the unpooled question is skipped, never sampled
    assert report.all_n.mean == 0.75 and report.first_k.mean == 0.5
    assert report.difference.mean == -0.25 and report.difference.n == 4
    assert report.difference.low <= report.difference.mean <= report.difference.high
    assert str(report.first_k_vs_all) == "1/1/2"
    assert report.cut_per_example == pytest.approx((2 + 2 + 2 + 1) / 4)
    first_k_prompts = [c.prompt for c in fusor.calls][4:]
    assert (
        all(p.split("[[ ## candidates ## ]]")[-1].count("<candidate ") == 3 for p in first_k_prompts)
        and len(first_k_prompts) == 4
    )
    assert "no difference" in report.markdown()

    calls = len(fusor.calls)
    again = asyncio.run(compare_first_k(config(tmp_path), "en", 3))
    assert len(fusor.calls) == calls and again == report  # stored answers: a rerun makes no LM calls


def test_a_limit_compares_only_the_evaluations_seeded_subset(tmp_path, fusor):
    write_fixture(tmp_path)
    limited = config(tmp_path).model_copy(update={"limit": 3})
    subset = {ex.id for ex in Evaluation(limited).task.load("en", 3, 0)}
    report = asyncio.run(compare_first_k(limited, "en", 3))
    pooled = subset - {"en-4"}  # the unpooled question may be drawn; it is skipped, never sampled
    assert report.examples == len(pooled) and len(fusor.calls) == 2 * len(pooled)


def test_missing_pools_name_the_fix_and_are_never_sampled(tmp_path, fusor):
    write_fixture(tmp_path)
    wrong_n = config(tmp_path).model_copy(update={"n": 3})
    with pytest.raises(ConfigurationError, match="no stored pools"):
        asyncio.run(compare_first_k(wrong_n, "en", 2))
    with pytest.raises(ConfigurationError, match="k must be"):
        asyncio.run(compare_first_k(config(tmp_path), "en", 6))
    assert fusor.calls == []


def test_command_line_writes_the_report(tmp_path, fusor, capsys):
    write_fixture(tmp_path)
    out = tmp_path / "out"
    main(["--task", "math", "--lang", "en", "--out", str(out), "-k", "3", "--model", "scripted",
          "--max-tokens", "256", "--data-dir", str(tmp_path / "data")])  # fmt: skip
    saved = json.loads((out / "first-k-math-en-n5-k3.json").read_text())
    assert saved["k"] == 3 and saved["examples"] == 4
    assert "first-k wins/ties/losses 1/1/2" in capsys.readouterr().out
