"""LoRA training of the fusor resumes where a killed run stopped, and sees the data a whole run would (issue 29).

Runs on a tiny randomly initialised Qwen2 (no weights to fetch); skipped when the `[train]` extra is absent."""

import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers.lora_train import CHECKPOINT, LoraSettings, adapter_state, schedule, train_lora
from fusion_dspy.optimizers.sft_format import IGNORE, SftTokens

torch = pytest.importorskip("torch", reason="needs the [train] extra: pip install -e '.[train]'")
pytest.importorskip("peft", reason="needs the [train] extra: pip install -e '.[train]'")

from tests.optimizers.tiny_qwen import tiny_qwen2  # noqa: E402 - needs torch, checked above

DATA = [SftTokens(input_ids=[1, 2, 3, 4, 5, 6], labels=[IGNORE, IGNORE, IGNORE, 4, 5, 6]),
        SftTokens(input_ids=[7, 8, 9, 10], labels=[IGNORE, IGNORE, 9, 10]),
        SftTokens(input_ids=[11, 12, 13], labels=[IGNORE, 12, 13])]  # fmt: skip
SETTINGS = LoraSettings(rank=4, alpha=8, dropout=0.0, learning_rate=0.01, steps=4, checkpoint_every=2)


class Killed(Exception):
    pass


def test_the_schedule_is_a_seeded_permutation_per_epoch():
    steps = [schedule(3, step, 1, seed=0)[0] for step in range(6)]
    assert sorted(steps[:3]) == [0, 1, 2] and sorted(steps[3:]) == [0, 1, 2]
    assert schedule(3, 1, 2, seed=0) == [steps[2], steps[3]]  # two examples per step: the same sequence
    assert steps == [schedule(3, step, 1, seed=0)[0] for step in range(6)]


def test_a_killed_run_continues_from_its_checkpoint_to_the_same_adapter(tmp_path):
    whole, state = train_lora(tiny_qwen2(32), DATA, SETTINGS, tmp_path / "whole")
    assert state.step == 4 and len(state.losses) == 4 and state.losses[-1] < state.losses[0]

    def kill_at_3(step, total, loss):
        if step == 3:
            raise Killed

    with pytest.raises(Killed):
        train_lora(tiny_qwen2(32), DATA, SETTINGS, tmp_path / "cut", on_step=kill_at_3)
    assert (tmp_path / "cut" / CHECKPOINT / "state.json").is_file()
    seen = []
    resumed, state2 = train_lora(tiny_qwen2(32), DATA, SETTINGS, tmp_path / "cut",
                                 on_step=lambda step, total, loss: seen.append(step))  # fmt: skip
    assert seen == [3, 4]  # steps 1-2 came from the checkpoint
    assert state2.losses == pytest.approx(state.losses, rel=1e-5)
    a, b = adapter_state(whole), adapter_state(resumed)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_a_checkpoint_of_other_settings_is_refused_naming_the_fix(tmp_path):
    train_lora(tiny_qwen2(32), DATA, SETTINGS.model_copy(update={"steps": 2}), tmp_path)
    other = SETTINGS.model_copy(update={"learning_rate": 0.1})
    with pytest.raises(ConfigurationError, match="another output folder"):
        train_lora(tiny_qwen2(32), DATA, other, tmp_path)


def test_no_examples_is_an_error_that_says_why(tmp_path):
    with pytest.raises(ConfigurationError, match="no fused answer passed"):
        train_lora(tiny_qwen2(32), [], SETTINGS, tmp_path)


def test_training_uses_the_local_thread_setting_of_the_embedded_server(tmp_path, monkeypatch):
    """Beside a model job with FUSION_DSPY_LOCAL_THREADS=1, torch must not take every core (oversubscription)."""
    before = torch.get_num_threads()
    monkeypatch.setenv("FUSION_DSPY_LOCAL_THREADS", "1")
    try:
        torch.set_num_threads(2)
        train_lora(tiny_qwen2(32), DATA, SETTINGS.model_copy(update={"steps": 1}), tmp_path)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
