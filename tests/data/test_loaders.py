"""Loaders read the shared benchmark files beside the project; these tests need that folder (CI has it)."""

from pathlib import Path

import pytest

from fusion_dspy.data import (
    DataNotFoundError,
    find_data_dir,
    load_arena_hard,
    load_geofactx,
    load_mgsm,
    load_mt_bench,
    load_ntrex,
    load_ntrex_documents,
    load_wmt24pp,
    load_xlsum,
    loaders,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaders.hub_reachable.cache_clear()


def test_the_shared_data_folder_is_found_beside_the_project():
    found = find_data_dir()
    assert found is not None and (found / "mgsm").is_dir()


def test_mgsm():
    rows = load_mgsm("de")
    assert len(rows) == 250
    assert rows[0]["answer"] == "18" and "Enten" in rows[0]["question"]


def test_wmt24pp_drops_the_canary_and_bad_sources():
    rows = load_wmt24pp("de_DE")
    assert all("CANARY" not in r["source"] for r in rows)
    assert len(rows) < 998
    assert rows[0]["target"].startswith("Sisos")


def test_ntrex_lines_and_documents():
    rows = load_ntrex("jpn")
    assert len(rows) == 1997
    documents = load_ntrex_documents(max_chars=800)
    assert len(documents) > 50
    assert all(len(d["document"]) <= 800 or "\n" not in d["document"] for d in documents)


def test_geofactx_by_language():
    assert {len(load_geofactx(lang)) for lang in ["en", "hi", "ja", "th", "sw"]} == {480, 433, 417, 416, 409}
    with pytest.raises(DataNotFoundError, match="choose from"):
        load_geofactx("de")


def test_prompt_sets():
    assert len(load_arena_hard()) == 500
    assert len(load_mt_bench()) == 80


def test_missing_data_names_the_fix_without_waiting_for_the_hub(tmp_path: Path):
    with pytest.raises(DataNotFoundError, match="--data-dir"):
        load_mgsm("de", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="not a folder"):
        load_mgsm("de", data_dir=tmp_path / "nope")


def test_xlsum_is_hub_only_and_fails_clearly_offline():
    with pytest.raises(DataNotFoundError, match="XLSum"):
        load_xlsum("en")


def test_data_dir_from_the_environment(monkeypatch, tmp_path):
    (tmp_path / "mgsm").mkdir()
    (tmp_path / "mgsm" / "mgsm_en.tsv").write_text("Two plus two?\t4\n")
    monkeypatch.setenv("FUSION_DSPY_DATA_DIR", str(tmp_path))
    assert load_mgsm("en") == [{"question": "Two plus two?", "answer": "4"}]
