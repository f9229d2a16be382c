"""`optimize --ablate`: the registered fusor's instructions without its demos, and the default instructions with
its demos, each against the default fusor on the held-out split; recorded in the registry entry."""

import json
import re

import dspy
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.optimizers import FusorStudy
from fusion_dspy.optimizers.ablation import ablate, demos_from, instructions_only
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.testing import FakeModelServer
from tests.optimizers.test_study_keys import optimize_args, study_config

TOLD = "Add the two numbers of apples exactly."


def told_responder(messages):
    """Right (2i + 6 for 'Sam has i apples') only for a fusor whose instructions are TOLD; candidates say 7."""
    text = "\n".join(str(m["content"]) for m in messages)
    last = str(messages[-1]["content"])
    found = re.search(r"Sam has (\d+) apples", last)
    right = found is not None and "<candidate 1>" in last and TOLD in text
    answer = str(2 * int(found.group(1)) + 6) if right and found else "7"
    return f"[[ ## reasoning ## ]]\nworked\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"


def registered_with_told_instructions_and_a_demo(runner: FusorStudy, registry: FusorRegistry) -> None:
    """The study's registered fusor, rewritten to carry TOLD as instructions and one training pool as a demo."""
    entry = registry.manifest().find("math", "en")
    assert entry is not None
    fuser = runner.fusor(entry.chain_of_thought, entry.models["fusor"]).fuser
    assert fuser.predict is not None
    fuser.predict.signature = fuser.predict.signature.with_instructions(TOLD)
    train = runner.splits(0.7, 3).train[0]
    fuser.predict.demos = [dspy.Example(**train.toDict())]
    registry.save(fuser, entry)


def test_the_halves_are_scored_apart_and_the_instructions_carry_the_gain(tmp_path):
    with FakeModelServer(responder=told_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path, temperatures=[0.7]))
        registry = FusorRegistry(tmp_path / "registry")
        runner.finish(runner.run(), registry)
        registered_with_told_instructions_and_a_demo(runner, registry)
        result = ablate(runner, registry)
    told, shown = result.instructions_only, result.demos_only
    assert result.demos == 1 and told.held_out.n == shown.held_out.n == 2
    assert told.after == 1.0 and told.held_out.difference == 1.0 and told.held_out.win == 2
    assert shown.after == 0.0 and shown.held_out.difference == 0.0 and shown.held_out.tie == 2
    [entry] = registry.manifest().entries
    assert entry.ablation == result
    saved = json.loads((registry.root / entry.path).read_text())
    assert TOLD in json.dumps(saved) and len(saved["predict"]["demos"]) == 1  # the registered fusor is unchanged
    with FakeModelServer(responder=told_responder) as server:
        again = FusorStudy(study_config(server, tmp_path, temperatures=[0.7])).finish(runner.study(), registry)
    assert registry.manifest().entries[0].ablation == result  # the same study finished again: its check stays
    assert again.report is not None
    text = again.report.read_text()
    assert "- Its instructions without its demos (`--ablate`): held-out 1.000, against the default fusor +1.000" in text


def test_the_helpers_move_demos_and_keep_instructions(tmp_path):
    with FakeModelServer(responder=told_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path))
        source, target = runner.fusor(False, "openai/fake"), runner.fusor(False, "openai/fake")
        assert source.fuser.predict is not None and target.fuser.predict is not None
        source.fuser.predict.signature = source.fuser.predict.signature.with_instructions(TOLD)
        source.fuser.predict.demos = [dspy.Example(question="q", answer="1")]
        demos_from(target, source)
        assert len(target.fuser.predict.demos) == 1 and TOLD not in target.fuser.predict.signature.instructions
        instructions_only(source)
        assert source.fuser.predict.demos == [] and source.fuser.predict.signature.instructions == TOLD


def test_the_command_prints_both_halves(tmp_path):
    with FakeModelServer(responder=told_responder) as server:
        config = study_config(server, tmp_path)
        args = optimize_args(server, config, tmp_path, "--ablate")
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ablation, instructions only: held-out" in result.output and "ablation, demos only" in result.output
    entry = json.loads((tmp_path / "registry" / "manifest.json").read_text())["entries"][0]
    assert entry["ablation"]["instructions_only"]["held_out"]["n"] == 2
    assert "study report with the checks:" in result.output
    report = tmp_path / "registry" / "math" / "en-report" / "README.md"
    assert "- The default instructions with its" in report.read_text()
