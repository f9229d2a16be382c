"""The embedded LM starts its model at the first request: creating, copying or resolving it loads nothing, so a run
whose answers are all stored starts no model."""

import dspy
import pytest
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.errors import LocalModelError
from fusion_dspy.eval import runner as runner_module
from fusion_dspy.lm import server as server_module
from fusion_dspy.lm.embedded import EmbeddedLM
from fusion_dspy.lm.resolve import local_lm, resolve_lm


def refuse_to_start(monkeypatch):
    def started(name):
        raise AssertionError(f"the embedded model {name} was started")

    monkeypatch.setattr(server_module, "local_server", started)


def test_creating_copying_and_resolving_start_nothing(monkeypatch):
    refuse_to_start(monkeypatch)
    lm = local_lm("local-small", max_tokens=8)
    assert isinstance(lm, EmbeddedLM) and not lm.started and lm.model == "openai/local-small"
    assert not lm.copy(temperature=0.0).started
    assert not resolve_lm("local-small", max_tokens=7).started


def test_an_unknown_embedded_model_is_refused_with_the_choices():
    with pytest.raises(LocalModelError, match="local-small"):
        EmbeddedLM("local-huge")


@pytest.mark.local_model
def test_the_first_request_starts_the_model_and_copies_share_it():
    lm = local_lm("local-small", max_tokens=8, temperature=0.0)
    with dspy.context(lm=lm):
        pred = dspy.Predict("question -> answer")(question="What is 2 + 2? Reply with the number only.")
    assert lm.started and pred.answer.strip()
    copy = lm.copy(temperature=0.0, max_tokens=4)
    assert copy.start() == lm.kwargs["api_base"], "one server per model and process"


def test_a_finished_eval_says_so_and_starts_no_model(scripted_math, monkeypatch, tmp_path):
    args = ["eval", "--task", "math", "--langs", "en", "-n", "2", "--limit", "2", "--model", "local-small",
            "--scorers", "majority", "--out", str(tmp_path)]  # fmt: skip
    scripted_math.model = "openai/local-small"  # the stores are keyed by the model's name
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    monkeypatch.setattr(runner_module, "resolve_lm", resolve_lm)  # the real resolution from here on
    refuse_to_start(monkeypatch)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "nothing left to do" in " ".join(again.output.split()) and "oracle" in again.stdout


def test_a_tuned_fusor_starts_its_adapter_server_at_its_first_request_only(monkeypatch, tmp_path):
    from fusion_dspy.lm import lora as lora_module
    from fusion_dspy.lm.lora import TunedLM, file_sha256

    adapter = tmp_path / "adapter.gguf"
    adapter.write_bytes(b"not read until served")
    monkeypatch.setattr(lora_module, "adapter_server", lambda *a: (_ for _ in ()).throw(AssertionError("started")))
    lm = resolve_lm(f"local-small@{adapter}", max_tokens=8)
    assert isinstance(lm, TunedLM) and not lm.started and not lm.copy(temperature=0.0).started
    assert lm.model == f"openai/local-small+adapter-{file_sha256(adapter)[:8]}"
    assert lm.kwargs["extra_body"] == {"lora": [{"id": 0, "scale": 1.0}]}
    with pytest.raises(AssertionError, match="started"):
        lm.start()
