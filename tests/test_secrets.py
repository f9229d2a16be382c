"""A planted API key must never reach a saved program, an eval report, CLI output or the logs."""

import asyncio
import json
import logging

import dspy
import pytest
from typer.testing import CliRunner

import fusion_dspy as fd
from fusion_dspy.cli.main import app
from fusion_dspy.eval import EvalConfig, run_evaluation
from fusion_dspy.testing import FakeModelServer, FaultPlan

KEY = "sk-fusiondspy-PLANTED-7f3a9c2e5b1d"


@pytest.fixture
def planted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("FUSION_DSPY_API_KEY", KEY)


def keyed_lm(server):
    return dspy.LM("openai/fake", api_base=server.base_url, api_key=KEY, cache=False, num_retries=0)


def assert_clean(text: str, where: str) -> None:
    assert KEY not in text, f"the API key leaked into {where}"
    assert KEY[-12:] not in text, f"part of the API key leaked into {where}"


def test_saved_programs_hold_no_key(planted, tmp_path):
    with FakeModelServer() as server:
        program = fd.FusionOfN(dspy.Predict("question -> answer"), n=2, fuser=fd.Fuser(lm=keyed_lm(server)))
        program.set_lm(keyed_lm(server))
        with dspy.context(lm=keyed_lm(server)):
            program(question="q")
        program.save(str(tmp_path / "program.json"))
    assert_clean((tmp_path / "program.json").read_text(), "a saved program")


def test_predictions_and_errors_hold_no_key(planted, caplog):
    caplog.set_level(logging.DEBUG)
    plan = FaultPlan(script=["server_error", "garbage"])
    with FakeModelServer(faults=plan) as server, dspy.context(lm=keyed_lm(server)):
        prediction = fd.FusionOfN(dspy.Predict("question -> answer"), n=4)(question="q")
    assert_clean(prediction.nofn.candidates.model_dump_json(), "the candidate pool")
    assert_clean(str(prediction.nofn.usage), "usage")
    assert_clean(caplog.text, "the logs")


def test_eval_outputs_hold_no_key(planted, tmp_path, monkeypatch):
    from fusion_dspy.eval import runner

    with FakeModelServer() as server:
        monkeypatch.setattr(runner, "resolve_lm", lambda spec=None, **kw: keyed_lm(server))
        config = EvalConfig(task="math", languages=["en"], out_dir=tmp_path, n=2, limit=2, scorers=["majority"])
        asyncio.run(run_evaluation(config))
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".jsonl", ".md"}:
            assert_clean(path.read_text(), str(path.relative_to(tmp_path)))


def test_cli_output_holds_no_key(planted, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one\n")
    with FakeModelServer() as server:
        base = ["--model", "openai/fake", "--api-base", server.base_url, "-n", "2"]
        single = CliRunner().invoke(app, ["run", "hello", *base, "--json"])
        batch = CliRunner().invoke(app, ["run", "-i", str(prompts), "-o", str(tmp_path / "out.jsonl"), *base])
    assert single.exit_code == 0 and batch.exit_code == 0, single.output + batch.output
    assert json.loads(single.stdout)["fused"]["response"]
    for text, where in [(single.output, "run --json"), (batch.output, "batch output"),
                        ((tmp_path / "out.jsonl").read_text(), "batch JSONL")]:  # fmt: skip
        assert_clean(text, where)


def test_synthetic_datasets_hold_no_key(planted, tmp_path):
    from fusion_dspy.synth import SynthConfig, export, load_prompts, run_job

    (tmp_path / "prompts.jsonl").write_text('{"prompt": "secret scan one"}\n{"prompt": "secret scan two"}\n')
    with FakeModelServer(faults=FaultPlan(script=["server_error"])) as server:
        config = SynthConfig(
            prompts=str(tmp_path / "prompts.jsonl"), out_dir=tmp_path / "out", teachers=["openai/a", "openai/b"],
            api_base=server.base_url, bon="mbr", retries=0,
        )  # fmt: skip
        prompts = load_prompts(config.prompts)
        export(config, prompts, asyncio.run(run_job(config, prompts)))
    scanned = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name == "fused.jsonl" for p in scanned) and any(p.suffix == ".arrow" for p in scanned)
    for path in scanned:
        assert_clean(path.read_bytes().decode("utf-8", "replace"), str(path.relative_to(tmp_path)))


def test_registry_holds_no_key(planted, tmp_path):
    from fusion_dspy.registry import FusorRegistry, RegistryEntry

    with FakeModelServer() as server:
        fuser = fd.Fuser("question -> answer", lm=keyed_lm(server))
        fuser.set_lm(keyed_lm(server))
        models = {"candidates": "openai/fake", "fusor": "openai/fake"}
        entry = RegistryEntry(
            task="factual", language="en", metric="m", before=0.0, after=0.0, splits={}, models=models,
            optimizer="bootstrap", n=2,
        )  # fmt: skip
        FusorRegistry(tmp_path).save(fuser, entry)
    for path in tmp_path.rglob("*.json"):
        assert_clean(path.read_text(), str(path.relative_to(tmp_path)))
