"""Every code block of the READMEs is exercised: Python blocks run (against a local fake model server, no LM
configured), every `fusion-dspy` command line is parsed by the real CLI and the `run` lines run, install lines name
real extras, paths and scripts exist."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fusion_dspy.cli.main import app
from fusion_dspy.markers import has_marker
from fusion_dspy.testing import FakeModelServer
from fusion_dspy.testing.server import dspy_fields_responder
from tests.conftest import PROJECT_ROOT

READMES = sorted([PROJECT_ROOT / "README.md", *PROJECT_ROOT.glob("results/*/README.md")])
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_OPTIONAL = re.compile(r"\s*\[([^\]]+)\]")


def code_blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(path.read_text()) if lang == language]


def commands(block: str) -> list[str]:
    """The shell commands of a block as typed: continuation lines joined, `&&` chains split, blank parts dropped."""
    parts = [part.strip() for line in block.replace("\\\n", " ").splitlines() for part in line.split("&&")]
    return [part for part in parts if shlex.split(part, comments=True)]


def variants(command: str) -> list[list[str]]:
    """The words of a command; a synopsis `a [--x X] [--mode p|q]` as typed without its optional parts, and with
    all of them (first alternative)."""
    if not _OPTIONAL.search(command):
        return [shlex.split(command, comments=True)]
    bare = _OPTIONAL.sub("", command)
    full = _OPTIONAL.sub(lambda m: " " + " ".join(w.split("|")[0] for w in m.group(1).split()), command)
    return [shlex.split(bare, comments=True), shlex.split(full, comments=True)]


def cli_lines() -> list[tuple[str, list[str]]]:
    lines = []
    for readme in READMES:
        for block in code_blocks(readme, "bash"):
            for command in commands(block):
                for words in variants(command):
                    if Path(words[0]).name == "fusion-dspy":
                        lines.append((f"{readme.relative_to(PROJECT_ROOT)}: {shlex.join(words)}", words))
    return lines


@pytest.mark.parametrize(("where", "words"), cli_lines(), ids=lambda value: value if isinstance(value, str) else "")
def test_every_cli_line_in_the_readmes_is_accepted_by_the_cli(where, words):
    command = typer.main.get_command(app)
    name, args = words[1], words[2:]
    assert name in command.commands, f"{where}: no command {name!r}"  # type: ignore[attr-defined]
    try:
        command.commands[name].make_context(name, args)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any parse error is the failure being reported
        pytest.fail(f"{where}: {type(exc).__name__}: {exc}")


def test_install_lines_name_real_extras_and_scripts_exist():
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for readme in READMES:
        for block in code_blocks(readme, "bash"):
            for words in (shlex.split(command, comments=True) for command in commands(block)):
                for extra in re.findall(r"\.\[([\w,-]+)\]", " ".join(words)):
                    assert set(extra.split(",")) <= set(extras), f"{readme}: unknown extra {extra}"
                if Path(words[0]).name in {"python", "python3"} and words[1:2] != ["-m"] and len(words) > 1:
                    assert (PROJECT_ROOT / words[1]).is_file(), f"{readme}: {words[1]} does not exist"


def test_the_layout_block_lists_folders_that_exist():
    [layout] = code_blocks(PROJECT_ROOT / "README.md", "")
    for line in layout.splitlines():
        folder = line.split()[0]
        assert (PROJECT_ROOT / folder).is_dir(), folder


def leaky_fields_responder(messages):
    """DSPy's field format, but with the end marker inline the way small models write it."""
    return dspy_fields_responder(messages).replace("\n\n[[ ## completed ## ]]", " [[ ## completed ## ]]")


@pytest.fixture
def fake_model_env():
    """A fake model server chosen the way a user would: FUSION_DSPY_MODEL and FUSION_DSPY_API_BASE."""
    with FakeModelServer(responder=leaky_fields_responder) as server:
        yield {"FUSION_DSPY_MODEL": "openai/fake", "FUSION_DSPY_API_BASE": server.base_url}


def test_the_python_blocks_run_with_no_lm_configured(fake_model_env, tmp_path):
    blocks = code_blocks(PROJECT_ROOT / "README.md", "python")
    assert "configure" not in blocks[0] and "context" not in blocks[0], "the first snippet runs with no LM set up"
    code = "\n\n".join(blocks)
    script = tmp_path / "readme_snippets.py"
    script.write_text(code)
    env = {**os.environ, **fake_model_env, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    fused_line, summary = result.stdout.strip().splitlines()
    fused_answer, path, reason = fused_line.split(" | ")
    assert fused_answer == "a answer"  # fusion-dspy's output: the model's inline end marker is gone
    assert path in ("fused", "skipped", "floored", "selected") and reason  # how it was made, beside it
    assert summary.startswith("a one_line_summary")  # plain dspy.Predict's output: DSPy's parsing, as it is


def test_the_run_lines_run(fake_model_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompts.jsonl").write_text('{"prompt": "Why is the sky blue?"}\n{"prompt": "Name a red planet."}\n')
    runner = CliRunner()
    ran = 0
    for where, words in cli_lines():
        if words[1] != "run" or "PROMPT" in words:
            continue
        args = [fake_model_env["FUSION_DSPY_API_BASE"] if w.startswith("http://localhost") else w for w in words[1:]]
        result = runner.invoke(app, args, env=fake_model_env)
        assert result.exit_code == 0, f"{where}\n{result.output}"
        assert not has_marker(result.output), result.output
        ran += 1
    assert ran >= 3
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2


@pytest.mark.local_model
def test_the_main_command_prints_an_answer_without_a_field_marker():
    """The README's first command on the real small embedded model (few tokens): no `[[ ## … ## ]]` in the output."""
    runner = CliRunner()
    result = runner.invoke(app, ["run", "Why is the sky blue?", "-n", "3", "--model", "local-small",
                                 "--max-tokens", "64"])  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = result.stdout.split("Fused answer")[-1]
    assert answer.strip() and not has_marker(result.stdout) and "## ]]" not in result.stdout, result.stdout
