"""Loaders on the synthetic benchmark folder (tests/benchmark_files.py), plus a few checks on the real files that
are skipped when the project's shared data folder is absent."""

from pathlib import Path

import pytest

from fusion_dspy.data import (
    DataNotFoundError,
    find_data_dir,
    load_arena_hard,
    load_geofactx,
    load_gsm8k,
    load_mgsm,
    load_mt_bench,
    load_ntrex,
    load_ntrex_documents,
    load_wmt24pp,
    load_xlsum,
    loaders,
)
from tests.benchmark_files import BAD_SOURCE, COUNTS


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaders.hub_reachable.cache_clear()


def test_the_data_folder_comes_from_the_environment(synthetic_benchmarks):
    assert find_data_dir() == synthetic_benchmarks


def test_a_shared_data_folder_beside_the_project_is_found(tmp_path, monkeypatch):
    monkeypatch.delenv("FUSION_DSPY_DATA_DIR")
    (tmp_path / "project" / "src").mkdir(parents=True)
    (tmp_path / "project" / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path / "project" / "src")
    assert find_data_dir() is None
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert find_data_dir() == tmp_path / "shared" / "data"


def test_mgsm():
    rows = load_mgsm("de")
    assert len(rows) == COUNTS["mgsm"]
    assert rows[0] == {"question": rows[0]["question"], "answer": "7"} and "Brötchen" in rows[0]["question"]


def test_wmt24pp_drops_the_canary_and_bad_sources():
    rows = load_wmt24pp("de_DE")
    assert len(rows) == COUNTS["wmt24pp"]["de_DE"]
    assert all("CANARY" not in r["source"] and r["source"] != BAD_SOURCE for r in rows)
    assert rows[0]["target"].startswith("Die Bibliothek") and rows[0]["id"].endswith("#1")


def test_ntrex_lines_and_documents():
    rows = load_ntrex("jpn")
    assert len(rows) == COUNTS["ntrex_lines"]
    assert rows[0]["id"] == "fixture.news.1#0" and rows[-1]["id"].startswith("fixture.news.3#")
    documents = load_ntrex_documents(max_chars=120)
    assert [d["id"] for d in documents] == ["fixture.news.1", "fixture.news.2", "fixture.news.3"]
    assert all(len(d["document"]) <= 120 for d in documents)
    assert load_ntrex_documents()[1]["document"].count("\n") == 3


def test_geofactx_by_language():
    for language in ["en", "ja", "hi"]:
        rows = load_geofactx(language)
        assert len(rows) == COUNTS["geofactx"][language]
        assert all(isinstance(r["answers"], list) and r["answers"] for r in rows)
    assert load_geofactx("th") == []
    with pytest.raises(DataNotFoundError, match="choose from"):
        load_geofactx("de")


def test_prompt_sets():
    assert len(load_arena_hard()) == COUNTS["arena_hard"]
    mt_bench = load_mt_bench()
    assert len(mt_bench) == COUNTS["mt_bench"] and mt_bench[0]["id"] == "901"
    assert mt_bench[0]["prompt"] == "Write a short poem about a lighthouse."


def test_gsm8k_reads_the_number_after_the_marks_without_commas():
    rows = load_gsm8k()
    assert len(rows) == COUNTS["gsm8k"]
    assert rows[-1] == {"question": rows[-1]["question"], "answer": "1250"}
    assert rows[-2]["answer"] == "45" and "Anna" in rows[-2]["question"]


def test_missing_data_names_the_fix_without_waiting_for_the_hub(tmp_path: Path):
    with pytest.raises(DataNotFoundError, match="--data-dir"):
        load_mgsm("de", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="not a folder"):
        load_mgsm("de", data_dir=tmp_path / "nope")


def test_no_data_folder_at_all_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("FUSION_DSPY_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataNotFoundError, match=r"no data folder found.*FUSION_DSPY_DATA_DIR"):
        load_mgsm("de")


def test_xlsum_is_hub_only_and_fails_clearly_offline():
    with pytest.raises(DataNotFoundError, match="XLSum"):
        load_xlsum("en")


def test_data_dir_from_the_environment(monkeypatch, tmp_path):
    (tmp_path / "mgsm").mkdir()
    (tmp_path / "mgsm" / "mgsm_en.tsv").write_text("Two plus two?\t4\n")
    monkeypatch.setenv("FUSION_DSPY_DATA_DIR", str(tmp_path))
    assert load_mgsm("en") == [{"question": "Two plus two?", "answer": "4"}]


# The real files: sizes and first rows of the copies the committed runs used.


def test_real_mgsm(real_data_dir):
    rows = load_mgsm("de")
    assert len(rows) == 250
    assert rows[0]["answer"] == "18" and "Enten" in rows[0]["question"]


def test_real_wmt24pp_drops_the_canary_and_bad_sources(real_data_dir):
    rows = load_wmt24pp("de_DE")
    assert all("CANARY" not in r["source"] for r in rows)
    assert len(rows) < 998
    assert rows[0]["target"].startswith("Sisos")


def test_real_gsm8k(real_data_dir):
    rows = load_gsm8k()
    assert len(rows) == 1319
    assert rows[0]["answer"] == "18" and "Janet" in rows[0]["question"]
    assert all(r["answer"].lstrip("-").replace(".", "").isdigit() for r in rows)


def test_real_ntrex_geofactx_and_prompt_sets(real_data_dir):
    assert len(load_ntrex("jpn")) == 1997
    assert len(load_ntrex_documents(max_chars=800)) > 50
    assert {len(load_geofactx(lang)) for lang in ["en", "hi", "ja", "th", "sw"]} == {480, 433, 417, 416, 409}
    assert len(load_arena_hard()) == 500
    assert len(load_mt_bench()) == 80
