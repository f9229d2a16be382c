"""One failure standard for every command (issue 27.3): what cannot be right fails in one stderr line with exit 2,
before litellm is imported or an embedded model starts; `python -m` entries the README names never traceback."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

CHECK = textwrap.dedent(
    """
    import json, sys
    from typer.testing import CliRunner
    from fusion_dspy.cli.main import app
    result = CliRunner().invoke(app, json.loads(sys.argv[1]))
    print(json.dumps({"exit": result.exit_code, "stderr": result.stderr, "heavy": sorted(
        m for m in ("litellm", "xllamacpp") if m in sys.modules)}))
    """
)


def invoke_fresh(args):
    """The command in a fresh interpreter, and which heavy modules it had imported when it stopped."""
    done = subprocess.run([sys.executable, "-c", CHECK, json.dumps(args)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "hi", "--model", "nosuch/x"], "--model: unknown model 'nosuch/x': litellm knows no provider 'nosuch'"),
        (["run", "hi", "--fusor-model", "locall"], "--fusor-model: unknown model 'locall' (did you mean 'local'?)"),
        (["eval", "--task", "math", "--langs", "en", "--out", "o", "--judge-model", "opneai/x"], "mean 'openai'"),
        (["optimize", "--task", "math", "--lang", "xx", "--budget", "--out", "o"],
         "error: --lang xx: task 'math' has no language xx; choose from"),
        (["synth", "--prompts", "p.jsonl", "--out", "o", "--teachers", "openai/gpt-4o-mini,antropic/claude"],
         "error: --teachers: unknown model 'antropic/claude': litellm knows no provider 'antropic' (did you mean"),
        (["thresholds", "--task", "math", "--langs", "xx", "--out", "o"], "--langs xx: task 'math' has no language xx"),
    ],
)  # fmt: skip
def test_unknown_models_and_languages_fail_before_anything_heavy_is_imported(args, message):
    result = invoke_fresh(args)
    assert result["exit"] == 2
    lines = result["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines
    assert result["heavy"] == [], "litellm or the embedded model was loaded before the check"


def test_first_k_with_missing_data_is_one_line_not_a_traceback(tmp_path):
    env = {**os.environ, "FUSION_DSPY_DATA_DIR": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "HOME": str(tmp_path)}  # fmt: skip
    (tmp_path / "empty").mkdir()
    args = ["-m", "fusion_dspy.eval.first_k", "--task", "math", "--lang", "en", "-n", "5", "-k", "3", "--limit", "4",
            "--model", "local", "--out", str(tmp_path / "runs")]  # fmt: skip
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: MGSM (en): no local copy") and "--data-dir" in lines[0]
    bad = subprocess.run([sys.executable, *args[:-4], "--model", "nosuch/x", "--out", "o"], capture_output=True,
                         text=True, timeout=300, env=env, cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("error: --model: unknown model 'nosuch/x'")
