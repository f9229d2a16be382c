import json

import datasets
import pytest

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.synth import PromptRow, load_prompts


def test_jsonl_with_ids_and_limit(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"prompt {i}"}) + "\n" for i in range(5)))
    assert load_prompts(str(path), limit=2) == [
        PromptRow(id="q0", prompt="prompt 0"),
        PromptRow(id="q1", prompt="prompt 1"),
    ]


def test_csv_parquet_and_text(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("question,other\nWhat?,x\nWhy?,y\n")
    assert [r.prompt for r in load_prompts(str(csv), column="question")] == ["What?", "Why?"]
    parquet = tmp_path / "p.parquet"
    datasets.Dataset.from_list([{"prompt": "a"}, {"prompt": ""}, {"prompt": "b"}]).to_parquet(str(parquet))
    assert [(r.id, r.prompt) for r in load_prompts(str(parquet))] == [("0", "a"), ("2", "b")]
    text = tmp_path / "p.txt"
    text.write_text("line one\nline two\n")
    assert [r.prompt for r in load_prompts(str(text))] == ["line one", "line two"]


def test_bad_sources_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from fusion_dspy.data import loaders

    loaders.hub_reachable.cache_clear()
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ConfigurationError, match="--column"):
        load_prompts(str(path))
    with pytest.raises(ConfigurationError, match="neither a file here nor a reachable hub"):
        load_prompts("someone/some-dataset")
    (tmp_path / "p.xlsx").write_text("x")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_prompts(str(tmp_path / "p.xlsx"))
    dupes = tmp_path / "d.jsonl"
    dupes.write_text(json.dumps({"id": 1, "prompt": "a"}) + "\n" + json.dumps({"id": 1, "prompt": "b"}) + "\n")
    with pytest.raises(ConfigurationError, match="duplicates"):
        load_prompts(str(dupes))
    loaders.hub_reachable.cache_clear()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.jsonl", "", "no prompts in .*empty"),
        ("p.txt", "\n\n", "no prompts in .*empty"),
        ("p.jsonl", '{"prompt": ""}\n', "every 'prompt' value is empty"),
        ("p.jsonl", '{"prompt": "a"}\n{"prompt": \n', "could not read .* as json"),
    ],
)
def test_empty_or_broken_prompt_files_name_the_problem(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        load_prompts(str(path))
