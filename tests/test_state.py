"""Saved state is the whole state (issue 26.2, 26.9): our modules' tunable attributes go through save / load, also
nested in a user's program, and a dspy.BestOfN state loads into fd.BestOfN."""

import json

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.render import RenderOptions


def qa():
    return dspy.Predict("question -> answer")


def tuned_fusion():
    program = fd.FusionOfN(qa(), n=3, adaptive=True)
    program.adaptive.skip_agreement = 0.55
    program.adaptive.floor_margin = -0.05
    program.source.n = 4
    program.source.k = 2
    program.source.deadline_s = 2.5
    program.fuser.render = RenderOptions(max_chars_total=999, show_sources=True)
    return program


def settings_of(program):
    return (
        program.adaptive.skip_agreement,
        program.adaptive.floor_margin,
        program.source.n,
        program.source.k,
        program.source.deadline_s,
        program.fuser.render,
    )


def test_thresholds_n_first_k_deadline_and_render_options_survive_save_and_load(tmp_path):
    program = tuned_fusion()
    program.save(str(tmp_path / "fusion.json"))
    fresh = fd.FusionOfN(qa(), n=3, adaptive=True)
    fresh.load(str(tmp_path / "fusion.json"))
    assert settings_of(fresh) == (0.55, -0.05, 4, 2, 2.5, RenderOptions(max_chars_total=999, show_sources=True))
    assert isinstance(fresh.fuser.render, RenderOptions)  # read back as its type, not a dict


def test_the_settings_travel_inside_a_users_program(tmp_path):
    class App(dspy.Module):
        def __init__(self, fused):
            super().__init__()
            self.answer = fused
            self.summarise = dspy.Predict("answer -> summary")

    App(tuned_fusion()).save(str(tmp_path / "app.json"))
    saved = json.loads((tmp_path / "app.json").read_text())
    assert saved["answer.settings"]["aggregator"]["floor_margin"] == -0.05  # readable JSON, beside the predictors
    fresh = App(fd.FusionOfN(qa(), n=3, adaptive=True))
    fresh.load(str(tmp_path / "app.json"))
    assert settings_of(fresh.answer) == settings_of(tuned_fusion())
    assert [n for n, _ in fresh.named_predictors()] == ["answer.source.module", "answer.aggregator.fuser.predict",
                                                        "summarise"]  # fmt: skip


def test_dump_state_round_trips_and_settings_are_not_predictors():
    program = tuned_fusion()
    fresh = fd.FusionOfN(qa(), n=3, adaptive=True)
    fresh.load_state(program.dump_state())
    assert fresh.dump_state() == program.dump_state()
    assert all(isinstance(p, dspy.Predict) for _, p in fresh.named_predictors())
    fresh.reset_copy()  # optimisers reset every parameter: settings are left as they are


def test_a_state_saved_before_settings_existed_still_loads():
    program = tuned_fusion()
    old = {k: v for k, v in program.dump_state().items() if k != "settings"}
    fresh = fd.FusionOfN(qa(), n=3, adaptive=True)
    fresh.load_state(old)
    assert fresh.source.n == 3  # its own settings stay


def test_settings_for_parts_the_program_lacks_are_refused_with_the_fix():
    state = tuned_fusion().dump_state()
    state["settings"]["aggregator.judge"] = {"render": {}}
    with pytest.raises(ConfigurationError, match="built the same way"):
        fd.FusionOfN(qa(), n=3, adaptive=True).load_state(state)


def test_a_dspy_best_of_n_state_loads_into_fd_best_of_n(tmp_path):
    theirs = dspy.BestOfN(qa(), N=3, reward_fn=lambda args, pred: 1.0, threshold=1.0)
    theirs.module.demos = [dspy.Example(question="2+2?", answer="4")]
    theirs.module.signature = theirs.module.signature.with_instructions("Answer tersely.")
    theirs.save(str(tmp_path / "bon.json"))
    ours = fd.BestOfN(qa(), 3)
    ours.load(str(tmp_path / "bon.json"))
    assert ours.source.module.demos[0]["answer"] == "4"
    assert ours.source.module.signature.instructions == "Answer tersely."
