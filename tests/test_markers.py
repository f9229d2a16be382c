"""DSPy's end marker never reaches an answer: not from the candidates, not from the fusor, not from stored rows,
on any output path (Python API, `fusion-dspy run`, synth rows)."""

import asyncio
import itertools
import json

import dspy
import pytest
from typer.testing import CliRunner

import fusion_dspy as fd
from fusion_dspy.candidates import Candidate
from fusion_dspy.cli import run as run_module
from fusion_dspy.cli.main import app
from fusion_dspy.eval.store import MethodRecord, PoolRecord
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.markers import clean, has_marker, strip_markers
from fusion_dspy.outcome import Outcome
from fusion_dspy.testing import FakeModelServer, ScriptedLM
from tests.conftest import is_fusor_prompt

LEAKED = [
    "Mars [[ ## completed ## ]]",
    "Mars [[ ＃＃ completed ＃＃ ]]",
    "Mars ［［ ＃＃ completed ＃＃ ］］",
    "Mars [[## completed ##]]",
    "Mars [[ ## COMPLETED ## ]]",
    "Mars [[ ## completed ## ]",
    "Mars ## completed ## ]]",
    "Mars [ ## completed ## ]",
    "Mars [[ completed ]]",
    "Mars [[ ## completed",
    "Mars [[ ## compl",
    "Mars [[ ##",
    "Mars\n\n[[ ＃＃ completed ＃＃ ]]\n",
]


def assert_no_marker(text: str, where: str) -> None:
    assert "completed ##" not in text and "completed ＃＃" not in text, f"an end marker leaked into {where}: {text!r}"
    assert not has_marker(text), f"an end marker leaked into {where}: {text!r}"


@pytest.mark.parametrize("text", LEAKED)
def test_every_form_of_the_end_marker_is_stripped(text):
    assert strip_markers(text) == "Mars"


def test_a_marker_between_text_keeps_the_words_apart():
    assert strip_markers("Mars [[ ## completed ## ]] is red") == "Mars is red"
    assert strip_markers("Mars\n\n[[ ## completed ## ]]\nis red") == "Mars\n\nis red"


@pytest.mark.parametrize(
    "text",
    ["Task list: [completed]", "## Completed work\n- one", "see [[wiki link]]", "a [[ ## answer ## ]] b", "  Mars  "],
)
def test_text_without_an_end_marker_is_left_exactly_as_it_was(text):
    assert strip_markers(text) == text


def test_typed_values_pass_through_untouched():
    from typing import NamedTuple

    class Point(NamedTuple):
        x: int
        label: str

    point = Point(1, "a [[ ## completed ## ]]")
    assert clean({"p": point})["p"] is point


def test_clean_walks_containers_and_leaves_other_values_alone():
    assert clean({"a": ["x [[ ## completed ## ]]", 4], "b": ("y ## completed ## ]]",), "c": 2.5}) == {
        "a": ["x", 4],
        "b": ("y",),
        "c": 2.5,
    }


_TAKES = itertools.count()  # every draft differs, so the fusor is always called


def draft() -> str:
    return f"Mars, take {next(_TAKES)}"


def leaky(prompt: str, field: str = "answer") -> str:
    """A small model's habits: candidates end their answer with the marker inline, the fusor with full-width hashes."""
    if is_fusor_prompt(prompt):
        return f"[[ ## {field} ## ]]\nMars, the red planet [[ ＃＃ completed ＃＃ ]]"
    return f"[[ ## {field} ## ]]\n{draft()} [[ ## completed ## ]]"


def test_the_python_api_returns_clean_answers_and_candidates():
    with dspy.context(lm=ScriptedLM(leaky)):
        fused = fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(question="Which planet is red?")
        fused_async = asyncio.run(fd.FusionOfN(dspy.Predict("question -> answer"), n=2).acall(question="Red?"))
        best = fd.BestOfN(dspy.Predict("question -> answer"), n=3)(question="Which planet is red?")
    assert fused.answer == "Mars, the red planet" and fused_async.answer == "Mars, the red planet"
    assert best.answer.startswith("Mars, take ") and not has_marker(best.answer)
    assert all(c.text().startswith("Mars, take ") and not has_marker(c.text()) for c in fused.nofn.candidates)


def test_the_fusor_never_sees_a_marker_in_its_candidates():
    lm = ScriptedLM(leaky)
    with dspy.context(lm=lm):
        fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(question="Which planet is red?")
    [fusor_call] = [c for c in lm.calls if is_fusor_prompt(c.prompt)]
    rendered = fusor_call.prompt.split("<candidate 1>")[1]
    assert "completed" not in rendered.split("</candidate 3>")[0]


def test_the_cli_prints_clean_answers(monkeypatch):
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: ScriptedLM(lambda p: leaky(p, "response")))
    human = CliRunner().invoke(app, ["run", "Which planet is red?", "-n", "2", "--mode", "both"])
    as_json = CliRunner().invoke(app, ["run", "Which planet is red?", "-n", "2", "--mode", "both", "--json"])
    assert human.exit_code == 0 and as_json.exit_code == 0, human.output + as_json.output
    assert "Mars, the red planet" in human.stdout
    assert_no_marker(human.stdout, "run's output")
    record = json.loads(as_json.stdout)
    assert record["fused"]["response"] == "Mars, the red planet"
    assert record["selected"]["response"].startswith("Mars, take ")
    assert_no_marker(as_json.stdout, "run --json")


def leaky_server_reply(messages):
    last = str(messages[-1]["content"])
    if "<candidate 1>" in last:
        return "[[ ## response ## ]]\nFused reply [[ ＃＃ completed ＃＃ ]]"
    return f"[[ ## response ## ]]\n{draft()} [[ ## completed ## ]]"


def test_synth_rows_and_exports_are_clean(tmp_path):
    from fusion_dspy.synth import SynthConfig, export, load_prompts, run_job

    (tmp_path / "prompts.jsonl").write_text('{"prompt": "marker scan one"}\n{"prompt": "marker scan two"}\n')
    with FakeModelServer(responder=leaky_server_reply) as server:
        config = SynthConfig(
            prompts=str(tmp_path / "prompts.jsonl"), out_dir=tmp_path / "out", teachers=["openai/a", "openai/b"],
            api_base=server.base_url, bon="mbr", retries=0,
        )  # fmt: skip
        prompts = load_prompts(config.prompts)
        done = asyncio.run(run_job(config, prompts))
        export(config, prompts, done)
    assert {row.fused.response for row in done.rows.values() if row.fused} == {"Fused reply"}
    scanned = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != "checkpoint.jsonl"]
    assert any(p.name == "fused.jsonl" for p in scanned) and any(p.name == "bon.jsonl" for p in scanned)
    for path in scanned:
        assert_no_marker(path.read_bytes().decode("utf-8", "replace"), str(path.relative_to(tmp_path)))


def test_rows_stored_before_the_fix_are_clean_when_read_back(tmp_path):
    marked = "Mars [[ ## completed ## ]]"
    candidate = {"index": 0, "outputs": {"answer": marked}, "source": "m"}
    pool_file = tmp_path / "pools.jsonl"
    pool_file.write_text(json.dumps({"id": "e1", "pool": {"candidates": [candidate]}, "baseline": marked}) + "\n")
    method_file = tmp_path / "methods.jsonl"
    stored = {"id": "e1", "method": "fusion", "outputs": {"answer": marked}, "score": 1}
    method_file.write_text(json.dumps(stored) + "\n")
    checkpoint = tmp_path / "checkpoint.jsonl"
    answer = {"response": marked, "method": "fused"}
    checkpoint.write_text(json.dumps({"id": "p", "prompt": "q", "candidates": [candidate], "fused": answer}) + "\n")

    pool = JsonlLog(pool_file, PoolRecord).rows["e1"]
    assert pool.baseline == "Mars" and pool.pool[0].text() == "Mars"
    assert pool.markers_stripped
    method = JsonlLog(method_file, MethodRecord, key=lambda r: r.id).rows["e1"]
    assert method.outputs == {"answer": "Mars"} and method.markers_stripped
    assert method.answer_version is None  # stored before versioning: the eval redoes it once
    row = JsonlLog(checkpoint, Outcome).rows["p"]
    assert row.fused is not None and row.fused.response == "Mars" and row.candidates[0].text() == "Mars"
    assert not Candidate(index=0, outputs={"answer": "Mars"}).markers_stripped
