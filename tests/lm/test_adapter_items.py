"""What an adapter trained on, kept beside it and read back per task; a tuned fusor without the record is said."""

import logging

from fusion_dspy.lm.adapter_items import items_path, trained_items, trained_on, write_trained_items


def test_the_training_items_are_kept_per_adapter_and_read_back_per_task(tmp_path):
    adapter = tmp_path / "math" / "en.lora.gguf"
    assert trained_items(adapter) is None
    write_trained_items(adapter, {"math": ["3", "1", "3"], "gsm8k": ["700"]})
    assert items_path(adapter).name == "en.lora.trained_items.json"
    assert trained_items(adapter) == {"math": frozenset({"1", "3"}), "gsm8k": frozenset({"700"})}
    assert trained_items(tmp_path / "math" / "de.lora.gguf") is None  # its neighbour keeps its own record


def test_only_tuned_fusors_leave_items_out_and_one_with_no_record_is_logged(tmp_path, caplog):
    recorded, unrecorded = tmp_path / "a.gguf", tmp_path / "b.gguf"
    write_trained_items(recorded, {"math": ["1", "2"]})
    models = [None, "local", "openai/gpt-4o-mini", f"local-small@{recorded}", f"local-small@{unrecorded}"]
    with caplog.at_level(logging.WARNING):
        assert trained_on("math", models) == frozenset({"1", "2"})
        assert trained_on("gsm8k", models[:4]) == frozenset()
    assert [r.getMessage() for r in caplog.records if "b.gguf" in r.getMessage()] == [
        f"{unrecorded} has no b.trained_items.json beside it: the items it trained on cannot be left out of this "
        "evaluation, so a score on them may be inflated"
    ]
