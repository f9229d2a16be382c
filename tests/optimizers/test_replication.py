"""`optimize --replicate`: the registered fusor against the default one on examples beyond the study's --limit,
which no trial saw; recorded in the registry entry, and kept when the same study is finished again."""

import json

import pytest
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.optimizers import FusorStudy
from fusion_dspy.optimizers.replication import replicate
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.testing import FakeModelServer
from tests.optimizers.test_study import math_responder
from tests.optimizers.test_study_keys import optimize_args, study_config


def test_the_registered_fusor_is_compared_again_on_fresh_examples_only(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        runner = FusorStudy(study_config(server, tmp_path))
        registry = FusorRegistry(tmp_path / "registry")
        runner.finish(runner.run(), registry)
        seen = {i for ids in runner.split_ids().values() for i in ids}
        result = replicate(runner, registry, limit=9)
        assert result.held_out.n == 3 and result.limit == 9  # examples 7–9 of the seeded subset
        scored = {json.loads(line)["id"] for line in (tmp_path / "runs" / "scores.jsonl").read_text().splitlines()}
        assert len(scored - seen) == 3  # the three fresh ids were scored (beside the study's held-out ones)
        [entry] = registry.manifest().entries
        assert entry.replication == result
        runner.finish(runner.study(), registry)  # the same study finished again: the check of its fusor stays
        assert registry.manifest().entries[0].replication == result
        with pytest.raises(ConfigurationError, match="above the study's own"):
            replicate(runner, registry, limit=6)
        other = FusorStudy(study_config(server, tmp_path, seed=1))
        with pytest.raises(ConfigurationError, match="pass that study's --registry"):
            replicate(other, registry, limit=9)


def test_the_command_prints_the_replication(tmp_path):
    with FakeModelServer(responder=math_responder) as server:
        config = study_config(server, tmp_path)
        args = optimize_args(server, config, tmp_path, "--replicate", "9")
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "replication on 3 fresh examples (--limit 6 → 9)" in result.output
    assert json.loads((tmp_path / "registry" / "manifest.json").read_text())["entries"][0]["replication"]["limit"] == 9
