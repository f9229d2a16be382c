"""`fusion-dspy synth` fails like every command (issue 27.3): non-zero exit and one stderr line naming the fix,
before it samples when it can tell; a finished run says so and starts no model."""

import json

from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.testing import FakeModelServer

runner = CliRunner()


def prompts_file(tmp_path, count=2):
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        "\n".join(json.dumps({"id": f"p{i}", "prompt": f"Synth {i}? ({tmp_path.name})"}) for i in range(count))
    )
    return str(path)


def test_every_teacher_failing_exits_2_with_one_line_naming_the_cause(tmp_path):
    with FakeModelServer(latency_s=0.01, failing_models=("down",)) as server:
        args = ["synth", "--prompts", prompts_file(tmp_path), "--out", str(tmp_path / "out"),
                "--teachers", "openai/down", "--api-base", server.base_url, "--retries", "0"]  # fmt: skip
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: 2 of 2 rows failed (all 1 candidate calls failed")
    assert "rerun the same command to retry them" in errors[0]


def test_a_teacher_without_its_api_key_fails_before_sampling(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    args = ["synth", "--prompts", prompts_file(tmp_path), "--out", str(tmp_path / "out"),
            "--teachers", "openai/gpt-4o-mini", "--fusor", "local-small"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --teachers openai/gpt-4o-mini needs OPENAI_API_KEY: set it in the environment, or leave it out of "
        "--teachers (e.g. --teachers local)."
    ]
    assert not (tmp_path / "out" / "checkpoint.jsonl").exists()


def test_a_finished_run_says_so_and_starts_no_model(tmp_path, monkeypatch):
    with FakeModelServer(latency_s=0.01) as server:
        args = ["synth", "--prompts", prompts_file(tmp_path), "--out", str(tmp_path / "out"),
                "--teachers", "openai/alpha,openai/beta", "--api-base", server.base_url]  # fmt: skip
        assert runner.invoke(app, args).exit_code == 0
    import fusion_dspy.synth.job as job

    def no_model(*args, **kwargs):
        raise AssertionError("a finished run resolved a model")

    monkeypatch.setattr(job, "build_pipeline", no_model)
    again = runner.invoke(app, args)  # the server is gone: any call would fail
    assert again.exit_code == 0, again.output
    said = " ".join(again.stdout.split())
    assert said.startswith("nothing to do: all 2 rows are already in ") and said.endswith("(no model started)")
