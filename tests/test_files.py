"""File helpers: an atomic write leaves the old file or the new one, and records beside a file take its stem."""

from pathlib import Path

from fusion_dspy.files import beside, write_atomically


def test_an_atomic_write_replaces_the_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / "manifest.json"
    write_atomically(path, "old")
    write_atomically(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_record_beside_a_file_takes_its_stem_even_before_the_file_exists(tmp_path):
    adapter = tmp_path / "run" / "adapter.gguf"
    assert beside(adapter, ".cost.json") == tmp_path / "run" / "adapter.cost.json"
    assert not adapter.exists()
    assert beside(Path("a.b.gguf"), ".trained_items.json") == Path("a.b.trained_items.json")
