"""The map's reference line (one sample of the 1.5B on every cell's items): which sample it takes, what it
costs, and missing pools named before any cell runs."""

import json

import pytest

from fusion_dspy.cli.main import app
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.map import MapRun
from tests.map.test_map import MODEL, make_stored_pools, map_config


def test_a_missing_reference_is_named_before_any_cell_runs(scripted_math, tmp_path):
    """The reference line is read after every cell: with its pools missing, a map spent its fusor calls and then
    stopped. Now --dry-run lists the gap with the command that fills it, and a run refuses before any call."""
    from typer.testing import CliRunner

    make_stored_pools(tmp_path / "pools")
    args = ["map", "--grid", "math:de,en:3", "--candidates", MODEL, "--fusors", MODEL, "--ns", "3", "--pools",
            str(tmp_path / "pools"), "--out", str(tmp_path / "map"), "--reference", "openai/other"]  # fmt: skip
    plan = CliRunner().invoke(app, [*args, "--dry-run"])
    assert plan.exit_code == 0, plan.output
    text = " ".join(plan.output.split())
    assert "reference line: 3 math de pools of the reference openai/other are missing" in text
    assert "fusion-dspy eval --task math --langs en -n 5 --limit 3 --model openai/other" in text
    calls = len(scripted_math.calls)
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code != 0 and "pools of the reference openai/other are missing" in refused.output
    assert len(scripted_math.calls) == calls, "no fusor call before the reference is there"


def test_the_reference_single_sample_is_the_first_that_answered_and_pays_for_the_retry(scripted_math, tmp_path):
    """A failed first sample left the item out of the reference line (97 of 100 WMT de items, silently); now the
    reference takes the first sample that answered, as a cell's `single` row does, and its cost counts the
    failed attempt too. A reference pool not stored at all is an error naming the command that makes it."""
    make_stored_pools(tmp_path / "pools")
    [log] = (tmp_path / "pools" / "pools" / "math" / "en").glob("*.jsonl")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    first = rows[0]["pool"]["candidates"][0]
    first.update(status="failed", error="Timeout", outputs={})
    log.write_text("".join(json.dumps(row) + "\n" for row in rows))

    config = map_config(tmp_path, ns=[5])
    results = MapRun(config).run()
    reference = {item.id: item for item in results.reference["math"]}
    assert len(reference) == 6  # 2 languages × 3 items: none left out
    item = reference[rows[0]["id"]]
    retried = sum(c["usage"]["completion_tokens"] for c in rows[0]["pool"]["candidates"][:2])
    assert item.cost.candidates[MODEL].completion_tokens == retried  # the failed attempt and the answer

    other = map_config(tmp_path, ns=[5], reference="openai/other")  # a reference model with no stored pools
    with pytest.raises(
        ConfigurationError,
        match=r"pools of the reference openai/other are missing .* Make them "
        r"first: fusion-dspy eval --task math --langs de -n 5 --limit 3 --model openai/other",
    ):
        MapRun(other).run()
