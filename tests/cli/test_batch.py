import json

import pytest

from fusion_dspy.cli.batch import PromptItem, read_prompts
from fusion_dspy.errors import ConfigurationError


def test_reads_text_lines_and_jsonl(tmp_path):
    text = tmp_path / "p.txt"
    text.write_text("first\n\n  second  \n")
    assert read_prompts(str(text)) == [PromptItem(id="1", prompt="first"), PromptItem(id="3", prompt="second")]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "question": "Q1"}) + "\n" + json.dumps({"question": "Q2"}) + "\n")
    assert read_prompts(str(jsonl), field="question") == [
        PromptItem(id="a", prompt="Q1"),
        PromptItem(id="2", prompt="Q2"),
    ]


def test_bad_batch_input_names_the_fix(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_prompts(str(tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"text": "no prompt"}\n')
    with pytest.raises(ConfigurationError, match=r"bad.jsonl:2: .*--field"):
        read_prompts(str(bad))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": \n')
    with pytest.raises(ConfigurationError, match="invalid JSON"):
        read_prompts(str(broken))
